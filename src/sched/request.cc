#include "sched/request.h"

namespace orbitflow {

const char* RequestStateName(RequestState s) {
  switch (s) {
    case RequestState::kWaiting: return "waiting";
    case RequestState::kPrefilling: return "prefilling";
    case RequestState::kDecoding: return "decoding";
    case RequestState::kPaused: return "paused";
    case RequestState::kFinished: return "finished";
  }
  return "unknown";
}

}  // namespace orbitflow
