// PostgreSQL zone: read_model_plan(), the analysis of a declarative read model's view
// (docs/read-models.md, "Declarative read models"). It decides whether a view can be kept in
// Redis exactly from the stream of row changes and, if so, returns the plan the projector
// follows (JSON); any other view is refused by an ereport that names the construct and the
// way around it. The view's stored query tree is read, never its text: PostgreSQL has parsed
// and checked it, and records what it depends on. Plain C calls only: nothing here owns a C++
// object.
#include <cstdarg>
#include <utility>

#include "pg_headers.h"
#include "relation_map.h"

extern "C" {
#include "access/relation.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "nodes/bitmapset.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteHandler.h"
#include "utils/array.h"
#include "utils/json.h"
#include "utils/regproc.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(pgcqrs_read_model_plan);
Datum pgcqrs_read_model_plan(PG_FUNCTION_ARGS);
}

#include "read_model_analysis.h"

namespace pgcqrs::read_model {

void refuse(const Analysis& a, const char* hint, const char* fmt, ...) {
  char what[1024];
  va_list args;
  va_start(args, fmt);
  vsnprintf(what, sizeof what, fmt, args);
  va_end(args);
  ereport(ERROR, (errcode(ERRCODE_PGCQRS_READ_MODEL),
                  errmsg("pgcqrs: view %s cannot be a read model: %s", a.view_name, what),
                  hint ? errhint("%s", hint) : 0));
}

const char* table_name(Oid relid) {
  return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid));
}

const char* column_name(const Analysis& a, int table, AttrNumber attno) {
  Oid relid = a.tables[table].relid;
  return psprintf("%s.%s", table_name(relid), quote_identifier(get_attname(relid, attno, false)));
}

int table_of(const Analysis& a, Index rti) {
  for (int i = 0; i < a.ntables; i++)
    if (a.tables[i].rti == rti) return i;
  return -1;
}

// The table and column a view expression reads, when it is a plain column of a table of this
// query (through a join's merged USING column too); false for anything else.
bool column_of(const Analysis& a, Node* expr, int* table, AttrNumber* attno) {
  if (expr == nullptr || !IsA(expr, Var)) return false;
  Var* var = castNode(Var, expr);
  if (var->varlevelsup != 0 || var->varattno <= 0) return false;
  RangeTblEntry* rte = rt_fetch(var->varno, a.query->rtable);
  if (rte->rtekind == RTE_JOIN) {
    if (var->varattno > list_length(rte->joinaliasvars)) return false;
    return column_of(a, static_cast<Node*>(list_nth(rte->joinaliasvars, var->varattno - 1)), table, attno);
  }
  *table = table_of(a, var->varno);
  *attno = var->varattno;
  return *table >= 0;
}

// A table the model reads: its changes must reach the stream (a permanent, non-inherited
// table) and say which row they are (a primary key or REPLICA IDENTITY FULL).
void check_table(Analysis& a, Index rti, RangeTblEntry* rte) {
  const char* hint = "A read model reads tables only: name them in FROM and JOIN.";
  switch (rte->rtekind) {
    case RTE_RELATION: break;
    case RTE_SUBQUERY: refuse(a, hint, "a subquery in FROM");
    case RTE_FUNCTION: refuse(a, hint, "a function in FROM");
    case RTE_VALUES: refuse(a, hint, "VALUES in FROM");
    case RTE_TABLEFUNC: refuse(a, hint, "a table function in FROM");
    default: refuse(a, hint, "FROM item %u is not a table", rti);
  }
  Oid relid = rte->relid;
  const char* name = table_name(relid);
  switch (get_rel_relkind(relid)) {
    case RELKIND_RELATION: break;
    case RELKIND_VIEW:
      refuse(a, "Name the view's tables in this view instead: a read model is kept from the changes of tables.",
             "%s in FROM is a view", name);
    case RELKIND_MATVIEW:
      refuse(a, "Name the tables it is computed from instead.", "%s in FROM is a materialized view, whose "
             "refreshes reach the stream as no row changes", name);
    case RELKIND_PARTITIONED_TABLE:
      refuse(a, nullptr, "%s is a partitioned table, not supported yet (its rows change in its partitions)", name);
    case RELKIND_FOREIGN_TABLE:
      refuse(a, nullptr, "%s is a foreign table: its changes are not in this server's WAL", name);
    default: refuse(a, hint, "%s in FROM is not a table", name);
  }
  if (rte->tablesample) refuse(a, nullptr, "TABLESAMPLE on %s: a sample is not maintained row by row", name);
  Oid extension = get_extension_oid("pgcqrs", true);
  if (OidIsValid(extension) && getExtensionOfObject(RelationRelationId, relid) == extension &&
      strcmp(get_rel_name(relid), "read_models") == 0)
    refuse(a, "List the models with SELECT * FROM read_models, or pgcqrs-sidecar status.",
           "%s is pgcqrs's catalog of read models, whose changes the stream reports as registrations", name);
  if (OidIsValid(extension) && getExtensionOfObject(RelationRelationId, relid) == extension &&
      strcmp(get_rel_name(relid), "read_model_progress") == 0)
    refuse(a, "Read the models' state in read_model_status, or with pgcqrs-sidecar status.",
           "%s is where the sidecars report their progress, rewritten by each report", name);
  if (find_inheritance_children(relid, NoLock) != NIL)  // relhassubclass may be stale
    refuse(a, "Read the tables one by one, or turn the hierarchy into a partitioned table.",
           "%s has inheritance children, whose rows reach the stream under their own names", name);
  Relation rel = relation_open(relid, AccessShareLock);
  char persistence = rel->rd_rel->relpersistence;
  char identity = rel->rd_rel->relreplident;
  Oid pkey = RelationGetPrimaryKeyIndex(rel);
  relation_close(rel, AccessShareLock);
  if (persistence == RELPERSISTENCE_UNLOGGED)
    refuse(a, psprintf("ALTER TABLE %s SET LOGGED.", name), "%s is unlogged: its changes write no WAL", name);
  if (persistence == RELPERSISTENCE_TEMP) refuse(a, nullptr, "%s is a temporary table", name);
  if (identity == REPLICA_IDENTITY_NOTHING || identity == REPLICA_IDENTITY_INDEX)
    refuse(a, psprintf("ALTER TABLE %s REPLICA IDENTITY DEFAULT (with a primary key) or FULL.", name),
           "%s has REPLICA IDENTITY %s: its deletes and key changes would not say which row changed", name,
           identity == REPLICA_IDENTITY_NOTHING ? "NOTHING" : "USING INDEX");
  if (identity == REPLICA_IDENTITY_DEFAULT && !OidIsValid(pkey))
    refuse(a, psprintf("Add a primary key to %s, or ALTER TABLE %s REPLICA IDENTITY FULL.", name, name),
           "%s has no primary key: its deletes would not say which row went", name);
  if (a.ntables == max_tables) refuse(a, nullptr, "more than %d tables", max_tables);
  ModelTable& t = a.tables[a.ntables++];
  t = ModelTable{};
  t.rti = rti;
  t.relid = relid;
  t.via = -1;
}

// Reads index `index`'s key columns into t if it is a key the model can match on: unique,
// checked at once (not deferrable), valid, on plain columns, over the whole table.
bool read_unique_key(Oid index, ModelTable& t, bool* primary) {
  HeapTuple tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));
  if (!HeapTupleIsValid(tuple)) return false;
  auto* idx = reinterpret_cast<Form_pg_index>(GETSTRUCT(tuple));
  bool usable = idx->indisunique && idx->indimmediate && idx->indisvalid &&
                heap_attisnull(tuple, Anum_pg_index_indexprs, nullptr) &&
                heap_attisnull(tuple, Anum_pg_index_indpred, nullptr);
  if (usable) {
    t.key_index = index;
    t.nkeys = idx->indnkeyatts;
    for (int i = 0; i < t.nkeys; i++) t.key[i] = idx->indkey.values[i];
    *primary = idx->indisprimary;
  }
  ReleaseSysCache(tuple);
  return usable;
}

// The root: the first table of FROM, one model row per row of it, keyed by its primary key.
void set_root(Analysis& a, Index rti) {
  check_table(a, rti, rt_fetch(rti, a.query->rtable));
  ModelTable& root = a.tables[0];
  Relation rel = relation_open(root.relid, AccessShareLock);
  Oid pkey = RelationGetPrimaryKeyIndex(rel);
  relation_close(rel, AccessShareLock);
  bool primary = false;
  if (!OidIsValid(pkey) || !read_unique_key(pkey, root, &primary))
    refuse(a, "A read model keeps one row per row of its first table, keyed by that table's primary key.",
           "its first table %s has no primary key", table_name(root.relid));
}

// A lookup: `JOIN t ON t.k1 = p.c1 AND ...`, the t.k columns being exactly a unique key of t
// and every p.c a column of one table joined before, so that each row of the model matches
// at most one row of t.
void add_lookup(Analysis& a, JoinExpr* join) {
  if (join->jointype != JOIN_INNER && join->jointype != JOIN_LEFT)
    refuse(a, "Write the join as FROM root LEFT JOIN lookup (or JOIN): the model keeps a row per row of its "
              "first table.",
           "a %s JOIN", join->jointype == JOIN_RIGHT ? "RIGHT" : join->jointype == JOIN_FULL ? "FULL" : "semi or anti");
  if (join->isNatural) refuse(a, "Name the join's columns with ON or USING.", "a NATURAL JOIN");
  if (!IsA(join->rarg, RangeTblRef))
    refuse(a, "Join each table to the ones before it: FROM a JOIN b ON ... JOIN c ON ...",
           "a join nested on its right-hand side");
  const Index rti = castNode(RangeTblRef, join->rarg)->rtindex;
  check_table(a, rti, rt_fetch(rti, a.query->rtable));
  int self = a.ntables - 1;
  ModelTable& t = a.tables[self];
  t.left = join->jointype == JOIN_LEFT;
  const char* name = table_name(t.relid);
  if (join->quals == nullptr)
    refuse(a, "Join on a key: JOIN t ON t.id = root.t_id.", "the join of %s has no condition", name);

  AttrNumber lookup_cols[INDEX_MAX_KEYS], from_cols[INDEX_MAX_KEYS];
  int n = 0;
  ListCell* lc;
  foreach (lc, make_ands_implicit(reinterpret_cast<Expr*>(join->quals))) {
    Node* cond = static_cast<Node*>(lfirst(lc));
    const char* hint = "A join condition is lookup.column = earlier.column, ANDed; filter in WHERE instead.";
    if (!IsA(cond, OpExpr) || list_length(castNode(OpExpr, cond)->args) != 2)
      refuse(a, hint, "the join of %s has a condition that is not column = column", name);
    OpExpr* op = castNode(OpExpr, cond);
    int lt, rt;
    AttrNumber la, ra;
    if (!column_of(a, static_cast<Node*>(linitial(op->args)), &lt, &la) ||
        !column_of(a, static_cast<Node*>(lsecond(op->args)), &rt, &ra))
      refuse(a, hint, "the join of %s has a condition that is not column = column", name);
    if (rt == self) {
      std::swap(lt, rt);
      std::swap(la, ra);
    }
    if (lt != self || rt == self)
      refuse(a, hint, "a condition in the join of %s does not compare %s with an earlier table", name, name);
    if (t.via >= 0 && t.via != rt)
      refuse(a, "Join each lookup on the columns of one table.", "the join of %s reads both %s and %s", name,
             table_name(a.tables[t.via].relid), table_name(a.tables[rt].relid));
    t.via = rt;
    Oid ltype = exprType(static_cast<Node*>(linitial(op->args)));
    Oid rtype = exprType(static_cast<Node*>(lsecond(op->args)));
    if (ltype != rtype)
      refuse(a, "Give both columns one type.", "the join of %s compares %s (%s) with %s (%s)", name,
             column_name(a, lt, la), format_type_be(ltype), column_name(a, rt, ra), format_type_be(rtype));
    if (op->opno != lookup_type_cache(ltype, TYPECACHE_EQ_OPR)->eq_opr)
      refuse(a, hint, "the join of %s compares with operator %s, not its type's equality", name,
             format_operator(op->opno));
    for (int i = 0; i < n; i++)
      if (lookup_cols[i] == la) refuse(a, hint, "the join of %s names %s twice", name, column_name(a, lt, la));
    if (n == INDEX_MAX_KEYS) refuse(a, hint, "the join of %s has more than %d conditions", name, INDEX_MAX_KEYS);
    lookup_cols[n] = la;
    from_cols[n] = ra;
    n++;
  }

  // The unique key the join matches: its columns are exactly the lookup's columns compared.
  Relation rel = relation_open(t.relid, AccessShareLock);
  List* indexes = RelationGetIndexList(rel);
  const bool full = rel->rd_rel->relreplident == REPLICA_IDENTITY_FULL;
  const Oid pkey = RelationGetPrimaryKeyIndex(rel);
  relation_close(rel, AccessShareLock);
  bool found = false;
  foreach (lc, indexes) {
    ModelTable candidate = t;
    bool primary = false;
    if (!read_unique_key(lfirst_oid(lc), candidate, &primary) || candidate.nkeys != n) continue;
    bool same = true;
    for (int k = 0; k < candidate.nkeys && same; k++) {
      same = false;
      for (int i = 0; i < n; i++)
        if (lookup_cols[i] == candidate.key[k]) {
          candidate.from[k] = from_cols[i];
          same = true;
        }
    }
    if (!same) continue;
    if (!found || primary) t = candidate;  // the primary key when it is one of several
    found = true;
  }
  if (!found) {
    StringInfoData cols;
    initStringInfo(&cols);
    for (int i = 0; i < n; i++)
      appendStringInfo(&cols, "%s%s", i ? ", " : "", quote_identifier(get_attname(t.relid, lookup_cols[i], false)));
    refuse(a, "Join on the lookup's primary key or on a unique constraint (not deferrable, no WHERE): each "
              "row of the model must match at most one row of it.",
           "the join of %s on (%s) is not on a unique key of %s", name, cols.data, name);
  }
  // A row's old key reaches the stream only for the replica identity: the primary key (when
  // it changes) or every column under FULL. Matched on another key, a lookup row whose key
  // changed or that was deleted would leave its copy under the old key.
  if (t.key_index != pkey && !full)
    refuse(a, psprintf("Join on the primary key of %s, or ALTER TABLE %s REPLICA IDENTITY FULL.", name, name),
           "the join of %s matches its unique key %s, whose old values the stream does not carry (only the "
           "primary key's, or every column's under REPLICA IDENTITY FULL)",
           name, quote_identifier(get_rel_name(t.key_index)));
}

// FROM: one item, the root, each further table joined to it (JoinExprs nest on the left).
void walk_from(Analysis& a, Node* node) {
  if (IsA(node, RangeTblRef)) return set_root(a, castNode(RangeTblRef, node)->rtindex);
  if (!IsA(node, JoinExpr)) refuse(a, nullptr, "an unexpected FROM item");
  JoinExpr* join = castNode(JoinExpr, node);
  walk_from(a, join->larg);
  add_lookup(a, join);
}

// Whether equality on a value of this type (and collation) is equality of its text: so the
// projector can test a filter on the text the stream carries.
bool text_equality_is_exact(Oid type, Oid collation) {
  switch (type) {
    case BOOLOID:
    case INT2OID:
    case INT4OID:
    case INT8OID:
    case UUIDOID:
    case CHAROID: return true;
    case TEXTOID:
    case VARCHAROID: return !OidIsValid(collation) || get_collation_isdeterministic(collation);
    default: return type_is_enum(type);
  }
}

char* const_text(const Analysis& a, Const* c) {
  if (c->constisnull)
    refuse(a, "Use IS NULL or IS NOT NULL.", "a filter compares with NULL, which matches no row");
  Oid output;
  bool varlena;
  getTypeOutputInfo(c->consttype, &output, &varlena);
  return OidOutputFunctionCall(output, c->constvalue);
}

Node* strip(Node* node) {
  while (node && IsA(node, RelabelType)) node = reinterpret_cast<Node*>(castNode(RelabelType, node)->arg);
  return node;
}

// One ANDed condition of WHERE: a column of the root against constants; or of the WHERE of a
// nested column's subquery, the same on a column of its child table (child, range table index
// child_rti in the subquery).
void add_filter(Analysis& a, Node* cond, int child, Index child_rti, const char* where) {
  const char* hint = child == 0 ? "Filter on a column of the first table: column = constant, <>, IN (...), NOT IN "
                                  "(...), IS [NOT] NULL, a boolean column or NOT one. Put anything else in a "
                                  "generated column (GENERATED ALWAYS AS (...) STORED) and filter on it."
                                : "Filter the child rows on a column of theirs: column = constant, <>, IN (...), "
                                  "NOT IN (...), IS [NOT] NULL, a boolean column or NOT one. Put anything else in a "
                                  "generated column (GENERATED ALWAYS AS (...) STORED) and filter on it.";
  if (a.nfilters == max_filters) refuse(a, nullptr, "more than %d conditions in %s", max_filters, where);
  Filter& f = a.filters[a.nfilters];
  f = Filter{};
  Node* column = nullptr;
  Oid opno = InvalidOid;
  bool any = false, use_or = false;
  List* consts = NIL;
  if (IsA(cond, NullTest) && !castNode(NullTest, cond)->argisrow) {
    NullTest* t = castNode(NullTest, cond);
    column = reinterpret_cast<Node*>(t->arg);
    f.op = t->nulltesttype == IS_NULL ? "is null" : "is not null";
  } else if (IsA(cond, BoolExpr) && castNode(BoolExpr, cond)->boolop == NOT_EXPR) {
    column = static_cast<Node*>(linitial(castNode(BoolExpr, cond)->args));
    f.op = "=";
    f.values = list_make1(pstrdup("f"));  // boolean's text, as the stream carries it
  } else if (IsA(cond, BoolExpr) && castNode(BoolExpr, cond)->boolop == OR_EXPR) {
    refuse(a, hint, "OR in %s", where);
  } else if (IsA(cond, Var)) {
    column = cond;
    f.op = "=";
    f.values = list_make1(pstrdup("t"));
  } else if (IsA(cond, OpExpr) && list_length(castNode(OpExpr, cond)->args) == 2) {
    OpExpr* op = castNode(OpExpr, cond);
    Node* l = strip(static_cast<Node*>(linitial(op->args)));
    Node* r = strip(static_cast<Node*>(lsecond(op->args)));
    if (!IsA(l, Var) && IsA(r, Var)) std::swap(l, r);
    column = l;
    opno = op->opno;
    consts = list_make1(r);
  } else if (IsA(cond, ScalarArrayOpExpr)) {
    ScalarArrayOpExpr* op = castNode(ScalarArrayOpExpr, cond);
    column = strip(static_cast<Node*>(linitial(op->args)));
    Node* list = static_cast<Node*>(lsecond(op->args));
    opno = op->opno;
    any = true;
    use_or = op->useOr;
    if (IsA(list, ArrayExpr)) {
      ListCell* lc;
      foreach (lc, castNode(ArrayExpr, list)->elements) {
        consts = lappend(consts, strip(static_cast<Node*>(lfirst(lc))));
      }
    } else if (IsA(list, Const) && !castNode(Const, list)->constisnull) {
      Const* c = castNode(Const, list);
      ArrayType* array = DatumGetArrayTypeP(c->constvalue);
      int16 len;
      bool byval;
      char align;
      get_typlenbyvalalign(ARR_ELEMTYPE(array), &len, &byval, &align);
      Datum* items;
      bool* nulls;
      int count;
      deconstruct_array(array, ARR_ELEMTYPE(array), len, byval, align, &items, &nulls, &count);
      for (int i = 0; i < count; i++)
        consts = lappend(consts, makeConst(ARR_ELEMTYPE(array), -1, InvalidOid, len, items[i], nulls[i], byval));
    } else {
      consts = list_make1(list);  // refused below, once the column is known
    }
  } else {
    refuse(a, hint, "a condition in %s that is not a column against a constant", where);
  }

  column = strip(column);
  int table = child;
  if (child != 0) {
    Var* v = column && IsA(column, Var) ? castNode(Var, column) : nullptr;
    if (!v || v->varlevelsup != 0 || static_cast<Index>(v->varno) != child_rti || v->varattno <= 0)
      refuse(a, hint, "a condition in %s on something other than a column of %s", where,
             table_name(a.tables[child].relid));
    f.attno = v->varattno;
  } else if (!column_of(a, column, &table, &f.attno)) {
    refuse(a, hint, "a condition in %s on something other than a column", where);
  }
  if (table != child)
    refuse(a, "Filter on columns of the first table only, for now; or copy the column into it.",
           "the filter on %s reads a looked-up table: a change there would move rows in and out of the model",
           column_name(a, table, f.attno));
  f.table = table;
  Oid type = exprType(column);
  Oid collation = exprCollation(column);
  bool null_test = f.op != nullptr && f.values == NIL;  // IS [NOT] NULL reads no value
  if (!null_test && !text_equality_is_exact(type, collation))
    refuse(a, hint, "the filter on %s compares %s, whose equality is not that of its text (the stream's)",
           column_name(a, table, f.attno), format_type_be(type));
  if (f.op == nullptr) {
    ListCell* lc;
    foreach (lc, consts)
      if (!IsA(lfirst(lc), Const))
        refuse(a, hint, "the filter on %s compares it with something other than a constant",
               column_name(a, table, f.attno));
    Oid ltype, rtype;
    op_input_types(opno, &ltype, &rtype);
    if (ltype != rtype)
      refuse(a, "Compare with a constant of the column's own type.", "the filter on %s compares %s with %s",
             column_name(a, table, f.attno), format_type_be(ltype), format_type_be(rtype));
    Oid eq = lookup_type_cache(ltype, TYPECACHE_EQ_OPR)->eq_opr;
    bool equal = opno == eq, differ = OidIsValid(eq) && opno == get_negator(eq);
    if (!(equal || differ) || (any && use_or != equal))
      refuse(a, hint, "the filter on %s uses operator %s", column_name(a, table, f.attno), format_operator(opno));
    f.op = any ? (equal ? "in" : "not in") : (equal ? "=" : "<>");
    foreach (lc, consts) f.values = lappend(f.values, const_text(a, castNode(Const, lfirst(lc))));
  } else if (f.values != NIL && type != BOOLOID) {
    refuse(a, hint, "a condition in %s on %s, which is not boolean", where, column_name(a, table, f.attno));
  }
  a.nfilters++;
}

// What a plan cannot hold: everything outside SELECT columns FROM root [JOIN lookup ON key]...
// [WHERE filters].
void check_query_shape(const Analysis& a) {
  const Query* q = a.query;
  if (q->cteList) refuse(a, "Write the query without WITH.", "a WITH clause");
  if (q->setOperations) refuse(a, "Register one model per SELECT.", "UNION, INTERSECT or EXCEPT");
  if (q->groupingSets) refuse(a, "Register a model per grouping.", "GROUPING SETS, ROLLUP or CUBE");
  if (q->havingQual) refuse(a, "Filter the rows with WHERE, and the groups when reading them.", "HAVING");
  if (q->hasAggs && !q->groupClause)
    refuse(a, "Group by a column: a model keeps a hash per group.", "an aggregate over the whole view, without GROUP BY");
  if (q->hasWindowFuncs) refuse(a, "Compute it at read time.", "a window function");
  if (q->hasTargetSRFs) refuse(a, nullptr, "a set-returning function in the select list");
  if (q->distinctClause) refuse(a, "The model has one row per row of its first table already.", "DISTINCT");
  if (q->sortClause) refuse(a, "Readers sort; a hash per row has no order.", "ORDER BY");
  if (q->limitCount || q->limitOffset) refuse(a, "A model holds every row that passes its filter.", "LIMIT or OFFSET");
  if (q->rowMarks) refuse(a, nullptr, "FOR UPDATE or FOR SHARE");
  if (list_length(q->jointree->fromlist) != 1)
    refuse(a, "Write the joins as FROM root JOIN lookup ON ..., not as a list of tables.",
           list_length(q->jointree->fromlist) == 0 ? "no FROM" : "more than one item in FROM");
}

void append_key(StringInfo out, const char* key, const char* value, bool first = false) {
  appendStringInfoString(out, first ? "" : ",");
  escape_json(out, key);
  appendStringInfoChar(out, ':');
  escape_json(out, value);
}

// The key template: literal text and {column} placeholders, which name exactly the view's
// columns that carry the model's key (the root's primary key, or a grouped model's GROUP BY
// columns), each once.
void check_key(const Analysis& a, const char* key) {
  const char* hint = a.grouped ? "The key is text with {column} placeholders naming the view's GROUP BY columns, "
                                 "each once: for instance 'tickets_per_customer:{customer_id}'."
                               : "The key is text with {column} placeholders naming the view's columns of its first "
                                 "table's primary key, each once: for instance 'order_card:{id}'.";
  const ModelTable& root = a.tables[0];
  bool seen[INDEX_MAX_KEYS] = {};
  if (*key == '\0') refuse(a, hint, "the key is empty");
  for (const char* p = key; *p; p++) {
    if (*p == '}') refuse(a, hint, "the key %s has a } without its {", key);
    if (*p != '{') continue;
    const char* end = strchr(p + 1, '}');
    if (!end) refuse(a, hint, "the key %s has a { without its }", key);
    char* name = pnstrdup(p + 1, end - p - 1);
    int column = -1;
    for (int i = 0; i < a.ncolumns; i++)
      if (strcmp(a.columns[i].name, name) == 0) column = i;
    if (column < 0) refuse(a, hint, "the key %s names {%s}, which is not a column of the view", key, name);
    int k = -1;
    for (int i = 0; i < a.nkey; i++)
      if (a.columns[column].table == 0 && !a.columns[column].aggregate && a.columns[column].attno == a.key[i]) k = i;
    if (k < 0 && a.grouped) refuse(a, hint, "the key %s names {%s}, which is not a GROUP BY column", key, name);
    if (k < 0) refuse(a, hint, "the key %s names {%s}, which is not a primary key column of %s", key, name,
                      table_name(root.relid));
    if (seen[k]) refuse(a, hint, "the key %s names %s twice", key, column_name(a, 0, a.key[k]));
    seen[k] = true;
    p = end;
  }
  for (int k = 0; k < a.nkey; k++)
    if (!seen[k]) refuse(a, hint, "the key %s does not name %s", key, column_name(a, 0, a.key[k]));
  // Its hashes must not be taken for pgcqrs's own keys (docs/read-models.md), which a rebuild
  // deletes by these names, nor for another generation's (`g3:`).
  static const char* const taken[] = {"pgcqrs:", "order_details:", "user_orders:", "user_latest:", "user:",
                                      "product:", "order_items:", "product_orders:", "top_products"};
  for (const char* name : taken)
    if (strncmp(key, name, strlen(name)) == 0)
      refuse(a, "Start the key with the model's name, as the default key does.",
             "the key %s starts with %s, a name of pgcqrs's own keys in Redis", key, name);
  if (key[0] == 'g' && isdigit(static_cast<unsigned char>(key[1]))) {
    const char* p = key + 1;
    while (isdigit(static_cast<unsigned char>(*p))) p++;
    if (*p == ':')
      refuse(a, "Start the key with the model's name, as the default key does.",
             "the key %s starts like the keys of a rebuild's generation (g1:, g2:, ...)", key);
  }
}

// The default key: the model's name, then each key column's view column.
const char* default_key(const Analysis& a, const char* model) {
  StringInfoData key;
  initStringInfo(&key);
  appendStringInfoString(&key, model);
  for (int k = 0; k < a.nkey; k++) {
    const char* name = nullptr;
    for (int i = 0; i < a.ncolumns && !name; i++)
      if (a.columns[i].table == 0 && !a.columns[i].aggregate && a.columns[i].attno == a.key[k]) name = a.columns[i].name;
    if (!name)
      refuse(a, "Select every primary key column of the first table: the model is keyed by it.",
             "the view does not select %s", column_name(a, 0, a.key[k]));
    appendStringInfo(&key, ":{%s}", name);
  }
  return key.data;
}

// The columns of table i the model reads, in table order: its key, the columns lookups from it
// match on, the columns the view selects from it, and those its filters test. The stream
// carries these and no others.
Bitmapset* columns_read(const Analysis& a, int i) {
  const ModelTable& t = a.tables[i];
  Bitmapset* reads = nullptr;
  for (int k = 0; k < t.nkeys; k++) reads = bms_add_member(reads, t.key[k]);
  for (int j = 1; j < a.ntables; j++) {
    const ModelTable& u = a.tables[j];
    if (u.via != i) continue;
    // A lookup's key columns each equal a column of this table; nested rows' parent columns do.
    for (int k = 0; k < (u.nested ? u.nparent : u.nkeys); k++) reads = bms_add_member(reads, u.from[k]);
  }
  for (int k = 0; k < t.nparent; k++) reads = bms_add_member(reads, t.parent[k]);
  for (int c = 0; c < a.ncolumns; c++) {
    const Column& col = a.columns[c];
    if (col.table != i) continue;
    if (col.attno > 0) reads = bms_add_member(reads, col.attno);
    for (int f = 0; f < col.nfields; f++) reads = bms_add_member(reads, col.field[f]);
    for (int o = 0; o < col.norder; o++) reads = bms_add_member(reads, col.order[o]);
  }
  for (int f = 0; f < a.nfilters; f++)
    if (a.filters[f].table == i) reads = bms_add_member(reads, a.filters[f].attno);
  return reads;
}

// The rank: a column of the view whose values score the model's rows (groups) in sorted sets,
// so a number (Redis's scores are doubles).
void check_rank(const Analysis& a, const char* rank) {
  const char* hint = "Rank by a column of the view of a numeric type (an integer, numeric, real or double precision), "
                     "or by a count or a sum.";
  for (int i = 0; i < a.ncolumns; i++) {
    const Column& c = a.columns[i];
    if (strcmp(c.name, rank) != 0) continue;
    if (c.aggregate || (c.nested && strcmp(c.nested, "array") != 0)) return;
    if (c.nested)
      refuse(a, hint, "the rank %s is a column of type jsonb, not a number", quote_identifier(rank));
    Oid type, collation;
    int32 typmod;
    get_atttypetypmodcoll(a.tables[c.table].relid, c.attno, &type, &typmod, &collation);
    if (type == INT2OID || type == INT4OID || type == INT8OID || type == NUMERICOID || type == FLOAT4OID ||
        type == FLOAT8OID)
      return;
    refuse(a, hint, "the rank %s is a column of type %s, not a number", quote_identifier(rank),
           format_type_be(type));
  }
  refuse(a, hint, "the rank %s is not a column of the view", quote_identifier(rank));
}

// The plan as JSON (docs/read-models.md describes each field).
char* plan_json(const Analysis& a, const char* key, const char* rank) {
  StringInfoData out;
  initStringInfo(&out);
  appendStringInfoChar(&out, '{');
  append_key(&out, "key", key, true);
  if (rank) append_key(&out, "rank", rank);
  if (a.grouped) {
    appendStringInfoString(&out, ",\"group\":[");
    for (int g = 0; g < a.ngroup; g++) {
      if (g) appendStringInfoChar(&out, ',');
      escape_json(&out, get_attname(a.tables[0].relid, a.group[g], false));
    }
    appendStringInfoChar(&out, ']');
  }
  appendStringInfoString(&out, ",\"tables\":[");
  for (int i = 0; i < a.ntables; i++) {
    const ModelTable& t = a.tables[i];
    appendStringInfoString(&out, i ? ",{" : "{");
    append_key(&out, "table", table_name(t.relid), true);
    append_key(&out, "join", i == 0 ? "root" : t.nested ? "nested" : t.left ? "left" : "inner");
    append_key(&out, "key_index", get_rel_name(t.key_index));
    appendStringInfoString(&out, ",\"key\":[");
    for (int k = 0; k < t.nkeys; k++) {
      if (k) appendStringInfoChar(&out, ',');
      escape_json(&out, get_attname(t.relid, t.key[k], false));
    }
    appendStringInfoChar(&out, ']');
    appendStringInfoString(&out, ",\"reads\":[");
    int previous = -1;
    Bitmapset* reads = columns_read(a, i);
    for (int attno = bms_next_member(reads, -1); attno >= 0; attno = bms_next_member(reads, attno)) {
      if (previous >= 0) appendStringInfoChar(&out, ',');
      escape_json(&out, get_attname(t.relid, static_cast<AttrNumber>(attno), false));
      previous = attno;
    }
    appendStringInfoChar(&out, ']');
    if (i > 0) {
      const int n = t.nested ? t.nparent : t.nkeys;
      appendStringInfo(&out, ",\"via\":%d,\"from\":[", t.via);
      for (int k = 0; k < n; k++) {
        if (k) appendStringInfoChar(&out, ',');
        escape_json(&out, get_attname(a.tables[t.via].relid, t.from[k], false));
      }
      appendStringInfoChar(&out, ']');
    }
    if (t.nested) {
      appendStringInfoString(&out, ",\"parent\":[");
      for (int k = 0; k < t.nparent; k++) {
        if (k) appendStringInfoChar(&out, ',');
        escape_json(&out, get_attname(t.relid, t.parent[k], false));
      }
      appendStringInfoChar(&out, ']');
    }
    appendStringInfoChar(&out, '}');
  }
  appendStringInfoString(&out, "],\"columns\":[");
  for (int i = 0; i < a.ncolumns; i++) {
    const Column& c = a.columns[i];
    Oid relid = a.tables[c.table].relid;
    appendStringInfoString(&out, i ? ",{" : "{");
    append_key(&out, "name", c.name, true);
    appendStringInfo(&out, ",\"table\":%d", c.table);
    if (c.attno > 0) append_key(&out, "column", get_attname(relid, c.attno, false));
    if (c.nested) {
      append_key(&out, "nested", c.nested);
      append_key(&out, "type", format_type_be(c.type));
      if (strcmp(c.nested, "sum") == 0) appendStringInfo(&out, ",\"scale\":%d", c.scale);
      if (c.empty_array) append_key(&out, "empty", "[]");
      if (c.nfields > 0) {
        appendStringInfoString(&out, ",\"fields\":[");
        for (int f = 0; f < c.nfields; f++) {
          const Oid type = get_atttype(relid, c.field[f]);
          appendStringInfoString(&out, f ? ",{" : "{");
          append_key(&out, "key", c.field_key[f], true);
          append_key(&out, "column", get_attname(relid, c.field[f], false));
          append_key(&out, "json", type == TEXTOID || type == VARCHAROID ? "string" : type == BOOLOID ? "boolean" : "number");
          appendStringInfoChar(&out, '}');
        }
        appendStringInfoString(&out, "],\"order\":[");
        for (int o = 0; o < c.norder; o++) {
          appendStringInfoString(&out, o ? ",{" : "{");
          append_key(&out, "column", get_attname(relid, c.order[o], false), true);
          appendStringInfo(&out, ",\"desc\":%s}", c.order_desc[o] ? "true" : "false");
        }
        appendStringInfoChar(&out, ']');
      }
    } else if (c.aggregate) {
      append_key(&out, "aggregate", c.aggregate);
      append_key(&out, "type", format_type_be(c.type));
      if (strcmp(c.aggregate, "sum") == 0) appendStringInfo(&out, ",\"scale\":%d", c.scale);
    } else {
      Oid type, collation;
      int32 typmod;
      get_atttypetypmodcoll(relid, c.attno, &type, &typmod, &collation);
      append_key(&out, "type", format_type_with_typemod(type, typmod));
    }
    appendStringInfoChar(&out, '}');
  }
  appendStringInfoString(&out, "],\"filters\":[");
  for (int i = 0; i < a.nfilters; i++) {
    const Filter& f = a.filters[i];
    appendStringInfoString(&out, i ? ",{" : "{");
    appendStringInfo(&out, "\"table\":%d", f.table);
    append_key(&out, "column", get_attname(a.tables[f.table].relid, f.attno, false));
    append_key(&out, "op", f.op);
    appendStringInfoString(&out, ",\"values\":[");
    ListCell* lc;
    foreach (lc, f.values) {
      if (foreach_current_index(lc)) appendStringInfoChar(&out, ',');
      escape_json(&out, static_cast<const char*>(lfirst(lc)));
    }
    appendStringInfoString(&out, "]}");
  }
  appendStringInfoString(&out, "]}");
  return out.data;
}

}  // namespace pgcqrs::read_model

using namespace pgcqrs::read_model;

// read_model_plan(view regclass, name text, key text, rank text): the plan of a view as a read
// model named `name` with key template `key` (NULL: name:{pk}...) and ranked by column `rank`
// (NULL: not ranked), or an error saying why it cannot be one. The SQL functions of the catalog (register_read_model, explain_read_model) call it.
Datum pgcqrs_read_model_plan(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("pgcqrs: a read model needs a view and a name")));
  Oid view = PG_GETARG_OID(0);
  const char* model = text_to_cstring(PG_GETARG_TEXT_PP(1));
  Analysis* a = static_cast<Analysis*>(palloc0(sizeof(Analysis)));
  if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(view)))
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("pgcqrs: no relation with OID %u", view)));
  a->view_name = table_name(view);
  if (get_rel_relkind(view) != RELKIND_VIEW)
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE), errmsg("pgcqrs: %s is not a view", a->view_name),
                    errhint("A read model is defined by a view: CREATE VIEW ... AS SELECT ...")));
  Relation rel = relation_open(view, AccessShareLock);
  a->query = static_cast<Query*>(copyObjectImpl(get_view_query(rel)));  // the relcache may rebuild its own
  relation_close(rel, AccessShareLock);

  check_query_shape(*a);
  walk_from(*a, static_cast<Node*>(linitial(a->query->jointree->fromlist)));
  a->grouped = a->query->groupClause != NIL;
  if (a->grouped && a->ntables > 1)
    refuse(*a, "Group the rows of one table; copy what you group by into it.",
           "a JOIN in a grouped model (not supported yet)");

  ListCell* lc;
  foreach (lc, a->query->targetList) {
    TargetEntry* te = lfirst_node(TargetEntry, lc);
    if (te->resjunk) continue;
    if (a->ncolumns == max_view_columns) refuse(*a, nullptr, "more than %d columns", max_view_columns);
    Column& c = a->columns[a->ncolumns];
    c.name = te->resname;
    if (IsA(te->expr, Aggref)) {
      add_aggregate(*a, c, castNode(Aggref, te->expr));
      a->ncolumns++;
      continue;
    }
    if (!a->grouped && (IsA(te->expr, SubLink) || IsA(te->expr, CoalesceExpr))) {
      add_nested(*a, c, reinterpret_cast<Node*>(te->expr));
      a->ncolumns++;
      continue;
    }
    if (a->grouped && te->ressortgroupref == 0)
      refuse(*a, "Group by it, or aggregate it (count or sum).", "column %s is not in GROUP BY",
             quote_identifier(te->resname));
    if (IsA(te->expr, Var) && castNode(Var, te->expr)->varattno <= 0)
      refuse(*a, "Select the table's columns one by one.", "column %s is a system column or a whole row",
             quote_identifier(te->resname));
    if (!column_of(*a, reinterpret_cast<Node*>(te->expr), &c.table, &c.attno))
      refuse(*a, "Compute it in a generated column of its table (GENERATED ALWAYS AS (...) STORED) and select that.",
             "column %s is an expression, not a column of a table", quote_identifier(te->resname));
    a->ncolumns++;
  }
  foreach (lc, make_ands_implicit(reinterpret_cast<Expr*>(a->query->jointree->quals)))
    add_filter(*a, static_cast<Node*>(lfirst(lc)), 0, 0, "WHERE");
  add_groups(*a);
  const ModelTable& root = a->tables[0];
  a->nkey = a->grouped ? a->ngroup : root.nkeys;
  for (int k = 0; k < a->nkey; k++) a->key[k] = a->grouped ? a->group[k] : root.key[k];

  for (int i = 0; i < a->ntables; i++)
    if (bms_num_members(columns_read(*a, i)) > pgcqrs::max_model_columns)
      refuse(*a, nullptr, "it reads more than %d columns of %s", pgcqrs::max_model_columns, table_name(a->tables[i].relid));

  const char* key = PG_ARGISNULL(2) ? default_key(*a, model) : text_to_cstring(PG_GETARG_TEXT_PP(2));
  check_key(*a, key);
  const char* rank = PG_NARGS() > 3 && !PG_ARGISNULL(3) ? text_to_cstring(PG_GETARG_TEXT_PP(3)) : nullptr;
  if (rank) check_rank(*a, rank);
  PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(plan_json(*a, key, rank))));
}
