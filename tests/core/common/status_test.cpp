#include "core/common/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace seams {
namespace {

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Errc::ok);
}

TEST(Status, ErrnoMapsToCodeAndBack) {
  Status s = Status::fromErrno(ENOENT, "/a");
  EXPECT_EQ(s.code(), Errc::not_found);
  EXPECT_EQ(toErrno(s.code()), ENOENT);
  EXPECT_NE(s.toString().find("/a"), std::string::npos);
}

TEST(Status, EveryCodeHasAnHttpStatusAndErrno) {
  for (std::uint32_t v = 1; v <= static_cast<std::uint32_t>(Errc::stale); ++v) {
    Errc c = errcFromWire(v);
    EXPECT_GE(httpStatus(c), 400) << errcName(c);
    EXPECT_GT(toErrno(c), 0) << errcName(c);
    EXPECT_NE(errcName(c), "") << v;
  }
}

TEST(Status, ClientMistakesAreNeverServerErrors) {
  for (Errc c :
       {Errc::invalid_argument, Errc::not_found, Errc::unauthenticated, Errc::permission_denied,
        Errc::too_large, Errc::range_not_satisfiable, Errc::name_too_long, Errc::already_exists}) {
    EXPECT_LT(httpStatus(c), 500) << errcName(c);
  }
}

TEST(Status, UnknownWireValueBecomesInternal) {
  EXPECT_EQ(errcFromWire(200), Errc::internal);
}

TEST(Result, HoldsValueOrError) {
  Result<int> a = 5;
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 5);
  Result<int> b = Status(Errc::not_found, "x");
  EXPECT_FALSE(b.ok());
  EXPECT_EQ(b.code(), Errc::not_found);
}

TEST(Result, OkStatusIsNotAValue) {
  Result<int> r = Status();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.code(), Errc::internal);
}

Status propagates(bool fail) {
  Result<int> r = fail ? Result<int>(Errc::io_error, "disk") : Result<int>(1);
  SEAMS_RETURN_IF_ERROR(r);
  return Status();
}

TEST(Result, ReturnIfErrorPropagates) {
  EXPECT_EQ(propagates(true).code(), Errc::io_error);
  EXPECT_TRUE(propagates(false).ok());
}

}  // namespace
}  // namespace seams
