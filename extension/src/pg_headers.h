// PostgreSQL server headers for PostgreSQL-zone files, with C linkage. Include it after every
// C++-zone, standard and Boost header: postgres.h redefines printf-family names.
#pragma once

extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "access/detoast.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "nodes/pg_list.h"
#include "nodes/value.h"
#include "replication/logical.h"
#include "replication/output_plugin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
}
