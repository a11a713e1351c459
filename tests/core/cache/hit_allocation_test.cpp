// The FS cache's hit path must not allocate: this binary replaces the global operator new with
// one that counts, per thread, while a test asks it to.
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>

#include "core/cache/fs_cache.h"

namespace {
thread_local bool counting = false;
thread_local long allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
  if (counting) ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace seams {
namespace {

VaultPath P(std::string_view raw) {
  return VaultPath::parse(raw).value();
}

// Counts the allocations made by `fn` on this thread.
template <typename Fn>
long allocationsDuring(Fn&& fn) {
  allocations = 0;
  counting = true;
  fn();
  counting = false;
  return allocations;
}

TEST(FsCacheHitPath, AttrAndContentHitsAllocateNothing) {
  ManualClock clock;
  FsCache::Options o;
  o.ttl = std::chrono::milliseconds(1000);  // the TTL check is on the hit path too
  FsCache cache(o, clock);
  const VaultPath f = P("/a/rather/long/path/so/the/string/is/not/small.txt");
  FileAttr attr;
  attr.version = 1;
  cache.putAttr(f, attr, cache.beginFill(f));
  cache.putContent(f, 1, std::string(4096, 'x'), cache.beginFill(f));

  bool attr_hit = false;
  bool content_hit = false;
  EXPECT_EQ(allocationsDuring([&] { attr_hit = cache.getAttr(f).has_value(); }), 0);
  EXPECT_EQ(allocationsDuring([&] { content_hit = cache.getContent(f) != nullptr; }), 0);
  EXPECT_TRUE(attr_hit);
  EXPECT_TRUE(content_hit);
}

TEST(FsCacheHitPath, AMissAllocatesNothingEither) {
  ManualClock clock;
  FsCache cache(FsCache::Options{}, clock);
  const VaultPath f = P("/a/rather/long/path/that/was/never/cached.txt");
  EXPECT_EQ(allocationsDuring([&] { (void)cache.getAttr(f); }), 0);
  EXPECT_EQ(allocationsDuring([&] { (void)cache.getContent(f); }), 0);
}

TEST(FsCacheHitPath, TheCounterSeesAllocations) {
  // Guards the two tests above against a counter that never counts.
  EXPECT_GT(allocationsDuring([] { auto p = std::make_unique<std::string>(100, 'y'); }), 0);
}

}  // namespace
}  // namespace seams
