#include "core/fuse/own_changes.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace seams {
namespace {

VaultPath P(const char* s) {
  return VaultPath::parse(s).value();
}

ChangeEvent modified(const char* path, std::uint64_t version) {
  return {ChangeEvent::Kind::modified, P(path), P(path), version};
}
ChangeEvent removedEvent(const char* path) {
  return {ChangeEvent::Kind::removed, P(path), P(path), 0};
}
ChangeEvent resync() {
  return {ChangeEvent::Kind::modified, VaultPath::root(), VaultPath::root(), 0};
}

class OwnChangesTest : public ::testing::Test {
 protected:
  std::vector<ChangeEvent> released_;
  OwnChanges own_{[this](std::vector<ChangeEvent> events) {
    for (auto& e : events) released_.push_back(std::move(e));
  }};
};

TEST_F(OwnChangesTest, TheEchoOfAChangeMadeHereIsConsumedOnce) {
  {
    OwnChanges::Scope scope(own_, P("/f"));
    scope.changed(42);
  }
  EXPECT_TRUE(own_.claim(modified("/f", 42)));
  EXPECT_EQ(own_.records(), 0u);
  // The same version again cannot be ours twice: a later event is somebody else's.
  EXPECT_FALSE(own_.claim(modified("/f", 42)));
}

TEST_F(OwnChangesTest, AChangeMadeElsewhereIsNotClaimed) {
  {
    OwnChanges::Scope scope(own_, P("/f"));
    scope.changed(42);
  }
  EXPECT_FALSE(own_.claim(modified("/f", 43)));
  EXPECT_FALSE(own_.claim(modified("/g", 7)));
  EXPECT_TRUE(released_.empty());
}

TEST_F(OwnChangesTest, AnEchoArrivingBeforeTheAnswerIsHeldAndThenDropped) {
  {
    OwnChanges::Scope scope(own_, P("/f"));
    EXPECT_TRUE(own_.claim(modified("/f", 42)));  // the feed overtook the answer
    EXPECT_EQ(own_.held(), 1u);
    scope.changed(42);
  }
  EXPECT_EQ(own_.held(), 0u);
  EXPECT_TRUE(released_.empty());
  EXPECT_EQ(own_.records(), 0u);
}

TEST_F(OwnChangesTest, AChangeFromElsewhereRacingOursIsReleasedWhenOursIsDone) {
  {
    OwnChanges::Scope scope(own_, P("/f"));
    EXPECT_TRUE(own_.claim(modified("/f", 41)));  // HTTP's write, just before ours
    EXPECT_TRUE(own_.claim(modified("/f", 42)));  // ours
    EXPECT_TRUE(released_.empty());
    scope.changed(42);
  }
  ASSERT_EQ(released_.size(), 1u);
  EXPECT_EQ(released_[0].version, 41u);
}

TEST_F(OwnChangesTest, AFailedCallReleasesWhatWasHeld) {
  {
    OwnChanges::Scope scope(own_, P("/f"));
    EXPECT_TRUE(own_.claim(modified("/f", 9)));
  }  // no changed(): the call failed (or timed out after the owner applied it)
  ASSERT_EQ(released_.size(), 1u);
  EXPECT_EQ(released_[0].version, 9u);
}

TEST_F(OwnChangesTest, AnEventIsHeldUntilTheLastScopeOnItsPathCloses) {
  auto outer = std::make_unique<OwnChanges::Scope>(own_, P("/f"));
  {
    OwnChanges::Scope other(own_, P("/a"), P("/f"));  // a rename onto /f, on another handler
    EXPECT_TRUE(own_.claim(modified("/f", 5)));
  }
  EXPECT_TRUE(released_.empty());
  outer.reset();
  ASSERT_EQ(released_.size(), 1u);
}

TEST_F(OwnChangesTest, ARenameIsRecognisedByEitherName) {
  {
    OwnChanges::Scope scope(own_, P("/a"), P("/b"));
    ChangeEvent e{ChangeEvent::Kind::renamed, P("/b"), P("/a"), 11};
    EXPECT_TRUE(own_.claim(e));
    scope.changed(11);
  }
  EXPECT_TRUE(released_.empty());
}

TEST_F(OwnChangesTest, TheFirstRemovalOfAPathRemovedHereIsOursTheNextIsNot) {
  {
    OwnChanges::Scope scope(own_, P("/f"));
    scope.removed();
  }
  EXPECT_TRUE(own_.claim(removedEvent("/f")));
  EXPECT_FALSE(own_.claim(removedEvent("/f")));
  EXPECT_FALSE(own_.claim(removedEvent("/g")));
}

TEST_F(OwnChangesTest, ChangesTheListenerSawInlineAreNotRecorded) {
  {
    OwnChanges::Scope scope(own_, P("/f"));
    own_.deliveredInline();
    scope.changed(3);
  }
  EXPECT_EQ(own_.records(), 0u);
  EXPECT_FALSE(own_.claim(modified("/f", 3)));
}

TEST_F(OwnChangesTest, InlineDeliveryOnAnotherObjectLeavesThisOneRecording) {
  OwnChanges other([](std::vector<ChangeEvent>) {});
  {
    OwnChanges::Scope scope(own_, P("/f"));
    other.deliveredInline();
    scope.changed(3);
  }
  EXPECT_EQ(own_.records(), 1u);
}

TEST_F(OwnChangesTest, AResyncForgetsTheRecordsAndIsNeverClaimed) {
  {
    OwnChanges::Scope scope(own_, P("/f"));
    scope.changed(3);
  }
  EXPECT_FALSE(own_.claim(resync()));
  EXPECT_EQ(own_.records(), 0u);
  EXPECT_FALSE(own_.claim(modified("/f", 3)));
}

TEST_F(OwnChangesTest, RecordsWhoseEchoNeverComesAreBounded) {
  for (std::uint64_t v = 1; v <= OwnChanges::kMaxRecords + 10; ++v) {
    OwnChanges::Scope scope(own_, P("/f"));
    scope.changed(v);
  }
  EXPECT_EQ(own_.records(), OwnChanges::kMaxRecords);
  EXPECT_FALSE(own_.claim(modified("/f", 1)));  // the oldest went first
  EXPECT_TRUE(own_.claim(modified("/f", OwnChanges::kMaxRecords + 10)));
}

TEST_F(OwnChangesTest, SetattrsTwoChangesAreBothRecognised) {
  {
    OwnChanges::Scope scope(own_, P("/f"));
    scope.changed(20);  // truncate
    scope.changed(21);  // mode
  }
  EXPECT_TRUE(own_.claim(modified("/f", 21)));
  EXPECT_TRUE(own_.claim(modified("/f", 20)));
}

}  // namespace
}  // namespace seams
