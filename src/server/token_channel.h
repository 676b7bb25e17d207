// One request's tokens on their way from the engine thread to the HTTP thread serving it.
//
// The engine thread pushes token ids as steps produce them and closes the channel once with the
// finish reason; the HTTP thread waits for what is new. Thread-safe: one producer (the engine
// thread), one consumer (the request's HTTP thread).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "metrics/request_record.h"
#include "orbitflow/types.h"

namespace orbitflow {

class TokenChannel {
 public:
  // `expected_tokens` reserves the buffer so pushing a token does not allocate.
  explicit TokenChannel(int64_t expected_tokens) { tokens_.reserve(static_cast<size_t>(expected_tokens) + 1); }

  // Engine thread.
  void Push(int32_t token) {
    std::lock_guard<std::mutex> lock(mu_);
    tokens_.push_back(token);
    cv_.notify_one();
  }
  void Close(FinishReason reason, std::string message) {
    std::lock_guard<std::mutex> lock(mu_);
    if (reason_) return;
    reason_ = reason;
    message_ = std::move(message);
    cv_.notify_one();
  }

  struct Update {
    bool closed = false;
    FinishReason reason = FinishReason::kUnfinished;
    std::string message;
  };
  // HTTP thread: waits up to `timeout` for tokens beyond the first `*consumed`, appends them to
  // *out and advances *consumed. Returns whether the channel is closed (and why) once every
  // token was handed out.
  Update Wait(size_t* consumed, std::chrono::milliseconds timeout, std::vector<int32_t>* out) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return tokens_.size() > *consumed || reason_.has_value(); });
    out->insert(out->end(), tokens_.begin() + static_cast<std::ptrdiff_t>(*consumed), tokens_.end());
    *consumed = tokens_.size();
    Update u;
    if (reason_) {
      u.closed = true;
      u.reason = *reason_;
      u.message = message_;
    }
    return u;
  }

  // Set by the engine thread when it submits the request; read only there.
  std::optional<RequestId> id;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int32_t> tokens_;
  std::optional<FinishReason> reason_;
  std::string message_;
};

}  // namespace orbitflow
