// Status and StatusOr: how every fallible boundary in OrbitFlow reports errors.
//
// A Status is a small value: a code and a message that says what was wrong, where, and (when it
// helps) what to do. Library code never throws across a boundary and never calls exit().
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace orbitflow {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // the caller passed something malformed (bad flag, bad file, bad body)
  kNotFound,           // a named thing does not exist (file, model, request)
  kOutOfRange,         // a value outside what is supported (context too long)
  kResourceExhausted,  // capacity ran out (device blocks, queue)
  kFailedPrecondition, // the system is not in a state to do this
  kInfeasible,         // a planning problem has no solution under its constraints
  kCancelled,          // the work was cancelled (client went away)
  kUnavailable,        // try again later (loading, shutting down)
  kUnimplemented,
  kDataLoss,           // truncated or corrupt data
  kInternal,           // a bug: an invariant broke
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: message" (or "OK").
  std::string ToString() const;

  // Prefixes context, e.g. Annotate("reading trace.csv line 12").
  Status Annotate(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status Infeasible(std::string m) { return {StatusCode::kInfeasible, std::move(m)}; }
inline Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& status) : status_(status) {  // NOLINT: implicit by design
    assert(!status_.ok() && "StatusOr built from an OK status without a value");
    if (status_.ok()) status_ = Internal("StatusOr built from OK status without a value");
  }
  StatusOr(Status&& status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok() && "StatusOr built from an OK status without a value");
    if (status_.ok()) status_ = Internal("StatusOr built from OK status without a value");
  }
  StatusOr(const T& value) : value_(value) {}       // NOLINT
  StatusOr(T&& value) : value_(std::move(value)) {}  // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok().
  const T& value() const& { assert(ok()); return *value_; }
  T& value() & { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace orbitflow

#define OF_CONCAT_INNER_(a, b) a##b
#define OF_CONCAT_(a, b) OF_CONCAT_INNER_(a, b)

// Returns the Status from the enclosing function if `expr` is not OK.
#define OF_RETURN_IF_ERROR(expr)                         \
  do {                                                   \
    ::orbitflow::Status of_status_ = (expr);             \
    if (!of_status_.ok()) return of_status_;             \
  } while (0)

// `OF_ASSIGN_OR_RETURN(auto x, MaybeX());` declares x from a StatusOr or returns its Status.
#define OF_ASSIGN_OR_RETURN(lhs, expr) \
  OF_ASSIGN_OR_RETURN_IMPL_(OF_CONCAT_(of_statusor_, __LINE__), lhs, expr)
#define OF_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
