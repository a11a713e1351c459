// seamctl: see core/control/seamctl.h.
#include <iostream>

#include "core/control/seamctl.h"

int main(int argc, char** argv) {
  return seams::runSeamctl(argc, argv, std::cout, std::cerr);
}
