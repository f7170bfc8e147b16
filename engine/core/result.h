// Errors as values: Result<T, E> holds either a value or an error (an enum of the layer that failed).
// Exceptions never cross the deterministic core; they are caught at the edges (HTTP, CLI).
#pragma once

#include <utility>
#include <variant>

namespace opt {

template <class E>
struct Err {
  E error;
};

template <class E>
Err<E> err(E e) {
  return Err<E>{e};
}

template <class T, class E>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Err<E> e) : v_(std::in_place_index<1>, e.error) {}          // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  E error() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

// Result of an operation that yields no value.
template <class E>
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Err<E> e) : failed_(true), e_(e.error) {}  // NOLINT
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  E error() const { return e_; }

 private:
  bool failed_ = false;
  E e_{};
};

}  // namespace opt
