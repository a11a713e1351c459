// SEAMS_WITH_GRPC(a, b, ...): ", a, b, ..." -- the gRPC cases of a parameter list -- except in a
// ThreadSanitizer build, where it is empty.
//
// Why: Debian's libgrpc is not built with TSan. Its C++ API is inline code compiled into our
// (instrumented) binaries, synchronised by mutexes and atomics inside the (uninstrumented)
// library, so TSan sees none of that ordering: the gRPC cases report hundreds of races, every one
// with gRPC frames in its stacks (ipc/README.md, "Sanitizers"). A suppression broad enough to
// hide them (any grpc:: frame) would also hide races in our own server handlers, which run below
// gRPC frames; so the TSan build leaves the gRPC cases out instead, and ASan runs them.
#pragma once

#if defined(__SANITIZE_THREAD__)
#define SEAMS_GRPC_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SEAMS_GRPC_UNDER_TSAN 1
#endif
#endif

#ifdef SEAMS_GRPC_UNDER_TSAN
#define SEAMS_WITH_GRPC(...)
#else
#define SEAMS_WITH_GRPC(...) , __VA_ARGS__
#endif
