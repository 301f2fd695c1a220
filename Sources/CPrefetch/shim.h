#pragma once
// A software prefetch for Swift, which has no intrinsic for it: training reads each sample's patch
// from a random image of a dataset far larger than the caches (MNIST conv2's input: 276 MB), and
// without it every row of every patch waited on memory in turn.
static inline void spk_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
