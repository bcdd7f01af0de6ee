#include "endpoints/metrics.h"

namespace zinc {
namespace internal {

EndpointMetrics::EndpointMetrics(Counters* counters) {
#define ZINC_COUNTER_REGISTER(field, name) field = counters->Get(name);
  ZINC_ENDPOINT_COUNTERS(ZINC_COUNTER_REGISTER)
#undef ZINC_COUNTER_REGISTER
}

}  // namespace internal
}  // namespace zinc
