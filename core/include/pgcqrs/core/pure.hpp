// Included first by every header of core/ and of the extension's C++ zone: such headers must
// be included before postgres.h, which redefines printf-family names and must never reach
// code that throws (docs/boundary.md).
#pragma once
#ifdef PG_VERSION_NUM
#error "pgcqrs C++-zone headers must be included before postgres.h"
#endif
