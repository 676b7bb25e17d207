#include "metrics/request_record.h"

namespace orbitflow {

std::string_view FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kUnfinished: return "unfinished";
    case FinishReason::kLength: return "length";
    case FinishReason::kStop: return "stop";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kFailed: return "failed";
  }
  return "unknown";
}

}  // namespace orbitflow
