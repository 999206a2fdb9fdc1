#pragma once
// Shipping a user's function to another process of the same binary: the function's
// type is identified by the operator's registry key (its mangled type name, which holds
// in every process of the binary); its state travels as the closure's bytes.
//
// A closure is shippable when it is trivially copyable (a lambda capturing numbers,
// enums, std::array of those, other trivially copyable structs, by value) or when it is
// a functor with a kiln::Codec. Captured pointers and references are NOT meaningful in
// another process: capture by value. Large read-only data belongs in parallelize()d
// datasets or joins, not in captures.

#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/status/statusor.h"
#include "common/codec.h"

namespace kiln::runtime {

template <class F>
inline constexpr bool IsShippable = std::is_trivially_copyable_v<F> || HasCodec<F>;

template <class F>
std::string EncodeClosure(const F& f) {
  static_assert(IsShippable<F>,
                "kiln: this function cannot be shipped to executors: capture only trivially "
                "copyable values by value (numbers, enums, std::array, plain structs), or use "
                "a functor type with a kiln::Codec (KILN_CODEC)");
  if constexpr (HasCodec<F>) {
    std::string out;
    Writer w(&out);
    Encode(w, f);
    return out;
  } else {
    return std::string(reinterpret_cast<const char*>(&f), sizeof(F));
  }
}

// Owns a closure rebuilt from its bytes.
template <class F>
class Closure {
 public:
  Closure() = default;
  Closure(const Closure&) = delete;
  Closure& operator=(const Closure&) = delete;
  ~Closure() {
    if (f_ != nullptr) f_->~F();
  }

  absl::Status Decode(std::string_view bytes) {
    if constexpr (HasCodec<F>) {
      static_assert(std::is_default_constructible_v<F>,
                    "kiln: a functor with a codec must be default-constructible");
      f_ = new (storage_) F();
      Reader r(bytes);
      ::kiln::Decode(r, *f_);
      if (!r.ok()) return absl::DataLossError("corrupt closure bytes");
    } else {
      if (bytes.size() != sizeof(F)) {
        return absl::DataLossError("closure size mismatch (driver and executor binaries differ?)");
      }
      std::memcpy(storage_, bytes.data(), sizeof(F));
      f_ = std::launder(reinterpret_cast<F*>(storage_));
    }
    return absl::OkStatus();
  }
  F& get() { return *f_; }

 private:
  alignas(F) unsigned char storage_[sizeof(F)];
  F* f_ = nullptr;
};

}  // namespace kiln::runtime
