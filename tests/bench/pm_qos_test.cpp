// The PM QoS hold: held for the length of a run and withdrawn when it ends, however it ends.
//
// The device is a FIFO the test reads: the hold's value arrives on it, and the read end sees EOF
// exactly when the hold's fd is closed, so "held" and "released" are observed, not assumed.
#include "bench/machine/pm_qos.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "bench/machine/cpu_pin.h"
#include "core/common/unique_fd.h"

namespace seams::bench {
namespace {

class FakeDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/seams-pmqos-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/cpu_dma_latency";
    ASSERT_EQ(::mkfifo(path_.c_str(), 0600), 0) << std::strerror(errno);
    // Opened first and non-blocking, so the hold's O_WRONLY open does not wait for a reader.
    reader_.reset(::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    ASSERT_TRUE(reader_.valid()) << std::strerror(errno);
  }
  void TearDown() override {
    reader_.reset();
    std::filesystem::remove_all(dir_);
  }

  // The value the hold wrote, if it wrote one.
  bool readValue(std::int32_t& value) {
    return ::read(reader_.get(), &value, sizeof value) == sizeof value;
  }
  // The hold wrote 0 and its fd is still open (a drained FIFO with a writer reads EAGAIN).
  bool heldAtZero() {
    std::int32_t value = -1;
    return readValue(value) && value == 0 && writerStillOpen();
  }
  // With the writer's fd open a drained FIFO reads EAGAIN; once every writer closed it, EOF.
  bool writerStillOpen() {
    char c;
    const ssize_t n = ::read(reader_.get(), &c, 1);
    return n < 0 && errno == EAGAIN;
  }
  bool writerClosed() {
    char c;
    return ::read(reader_.get(), &c, 1) == 0;
  }

  std::string dir_, path_;
  UniqueFd reader_;
};

TEST_F(FakeDevice, TheRequestIsHeldDuringTheRunAndWithdrawnAfterIt) {
  bool ran = false;
  const int rc = whileHoldingPmQos({.enabled = true, .device = path_}, [&](const PmQosHold& h) {
    ran = true;
    EXPECT_TRUE(h.held());
    EXPECT_EQ(h.why(), "held at 0 us");
    std::int32_t value = -1;
    EXPECT_TRUE(readValue(value));
    EXPECT_EQ(value, 0);
    EXPECT_TRUE(writerStillOpen());
    EXPECT_TRUE(h.toJson()["held"].get<bool>());
    return 0;
  });
  EXPECT_TRUE(ran);
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(writerClosed());
}

TEST_F(FakeDevice, ARunThatFailsStillWithdrawsTheRequest) {
  const int rc = whileHoldingPmQos({.enabled = true, .device = path_}, [&](const PmQosHold& h) {
    EXPECT_TRUE(heldAtZero());
    return 3;
  });
  EXPECT_EQ(rc, 3);
  EXPECT_TRUE(writerClosed());
}

TEST_F(FakeDevice, ARunThatThrowsStillWithdrawsTheRequestAndFails) {
  const int rc =
      whileHoldingPmQos({.enabled = true, .device = path_}, [&](const PmQosHold&) -> int {
        EXPECT_TRUE(heldAtZero());
        throw std::runtime_error("the deployment would not start");
      });
  EXPECT_EQ(rc, 1);
  EXPECT_TRUE(writerClosed());
}

TEST_F(FakeDevice, NoPmQosOpensNothingAndSaysSo) {
  whileHoldingPmQos({.enabled = false, .device = path_}, [&](const PmQosHold& h) {
    EXPECT_FALSE(h.held());
    EXPECT_EQ(h.why(), "disabled (--no-pm-qos)");
    EXPECT_FALSE(h.toJson()["requested"].get<bool>());
    // Nobody ever opened the FIFO for writing: reads find no writer.
    EXPECT_TRUE(writerClosed());
    return 0;
  });
}

TEST(PmQos, AMissingDeviceIsNotHeldAndTheReasonNamesIt) {
  PmQosHold h = PmQosHold::acquire("/nonexistent/seams/cpu_dma_latency");
  EXPECT_FALSE(h.held());
  EXPECT_NE(h.why().find("/nonexistent/seams/cpu_dma_latency"), std::string::npos);
  EXPECT_NE(h.why().find("No such file"), std::string::npos);
  const auto j = h.toJson();
  EXPECT_TRUE(j["requested"].get<bool>());
  EXPECT_FALSE(j["held"].get<bool>());
}

TEST(PmQos, ADeviceThatRefusesTheWriteIsNotHeld) {
  // /dev/full opens for writing and fails every write (ENOSPC).
  PmQosHold h = PmQosHold::acquire("/dev/full");
  EXPECT_FALSE(h.held());
  EXPECT_NE(h.why().find("write"), std::string::npos);
}

TEST(CpuPin, ACpuThisProcessMayNotUseIsRefused) {
  EXPECT_FALSE(allowedCpus().empty());
  const Status s = pinProcessTo(CPU_SETSIZE + 1);
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  const Status neg = pinProcessTo(-1);
  EXPECT_EQ(neg.code(), Errc::invalid_argument);
}

}  // namespace
}  // namespace seams::bench
