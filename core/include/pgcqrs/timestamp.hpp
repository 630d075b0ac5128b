// Transitional: the callers not switched to pgcqrs/core/ yet (session.cpp, batch_applier.cpp,
// projector.cpp) take LSN and timestamp text from here. Remove once none includes it.
#pragma once
#include "pgcqrs/core/lsn.hpp"
#include "pgcqrs/core/timestamp.hpp"
