#pragma once
// The SHA-256 digest that names an application binary to the cluster (workers fetch and
// cache binaries by it), remembered between runs of the same binary.
//
// Hashing a 20 MB binary takes 12 ms, on the path of every cold job: the driver needs
// its digest to register. A digest is kept in a small file per binary path under a
// cache directory, with the binary's FileIdentity (device, inode, size, times); it
// stands while a stat finds the same identity. A binary rebuilt, copied over or touched
// is hashed again; one changed in the last 2 s is not remembered (its times could stay
// the same across a rewrite in place: they tick by the kernel's clock, a few ms). The
// cache is only ever a shortcut: when it cannot be read or written, the binary is hashed
// as before.
//
// Thread-safe (files are replaced by rename).

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kiln {

// Where digests are remembered: $XDG_CACHE_HOME/kiln/digests, else
// $HOME/.cache/kiln/digests; "" (no cache) when neither variable is set.
std::string DigestCacheDir();

// Sha256File(path), from `cache_dir` when it holds the digest of this very file; else
// computed and written there when the file did not change while it was read and had
// not changed for `settle` before (modification and change times). `cache_dir` ""
// computes it every time.
absl::StatusOr<std::string> CachedSha256File(const std::string& path, const std::string& cache_dir,
                                             absl::Duration settle = absl::Seconds(2));

}  // namespace kiln
