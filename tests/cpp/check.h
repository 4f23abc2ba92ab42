// Shared by the host-only C++ tests: a failure counter, two ways to record a failed check without stopping the
// test (a printf-style CHECK, and check() for two numbers that should agree), and a small seeded generator of
// test data (64-bit LCG, Knuth's MMIX constants, top 24 bits).
#pragma once
#include <cstdio>

static int failures = 0;

#define CHECK(cond, ...)                                     \
    do {                                                     \
        if (!(cond)) {                                       \
            std::printf("FAIL %s:%d: ", __FILE__, __LINE__); \
            std::printf(__VA_ARGS__);                        \
            std::printf("\n");                               \
            ++failures;                                      \
        }                                                    \
    } while (0)

static inline void check(bool ok, const char* what, double a, double b) {
    if (!ok) {
        std::printf("FAIL %s: %.9g vs %.9g\n", what, a, b);
        ++failures;
    }
}

struct Lcg {
    unsigned long long state;
    explicit Lcg(unsigned long long seed) : state(seed) {}
    float uniform() {  // in [-1, 1)
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return (float)((state >> 40) & 0xffffff) / 8388608.0f - 1.0f;
    }
};
