// The executor contract is header-only; this file gives the layer a translation unit.
#include "exec/executor.h"
