// PostgreSQL zone: the analysis of a read model's aggregates (docs/read-models.md, "Grouped
// models" and "Nested child rows"): a grouped model's counts and sums, and a column of child
// rows nested as a jsonb array, a count or a sum. Each is kept exactly from the stream, or
// refused. Plain C calls only: nothing here owns a C++ object.
#include <utility>

#include "read_model_analysis.h"

extern "C" {
#include "access/relation.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_namespace.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
}

namespace pgcqrs::read_model {
namespace {

// The decimals of relid's column attno when its values have one text each and fit the
// projector's exact decimals: an integer's (0), or numeric(p,s)'s (s) with p up to
// max_precision; -1 for anything else (plain numeric keeps each value's own decimals).
int decimal_scale(Oid relid, AttrNumber attno, int max_precision) {
  Oid type, collation;
  int32 typmod;
  get_atttypetypmodcoll(relid, attno, &type, &typmod, &collation);
  const int scale = typmod >= VARHDRSZ ? ((((typmod - VARHDRSZ) & 0x7ff) ^ 1024) - 1024) : -1;
  const int precision = typmod >= VARHDRSZ ? ((typmod - VARHDRSZ) >> 16) & 0xffff : 0;
  if (type == INT2OID || type == INT4OID || type == INT8OID) return 0;
  return type == NUMERICOID && scale >= 0 && precision <= max_precision ? scale : -1;
}

// relid's column attno, qualified, and its type, for messages.
const char* column_and_type(Oid relid, AttrNumber attno) {
  Oid type, collation;
  int32 typmod;
  get_atttypetypmodcoll(relid, attno, &type, &typmod, &collation);
  return psprintf("%s.%s of type %s", table_name(relid), quote_identifier(get_attname(relid, attno, false)),
                  format_type_with_typemod(type, typmod));
}

// The decimals of sum(column) of relid's column attno, which the projector keeps exactly: an
// integer's, or numeric(p,s)'s up to p = 28 (it sums up to 36 digits: room for 10^8 rows).
int sum_scale(const Analysis& a, const Column& c, Oid relid, AttrNumber attno) {
  const int scale = decimal_scale(relid, attno, 28);
  if (scale >= 0) return scale;
  refuse(a, "Sum an integer or numeric(p,s) column with p up to 28 (money as numeric(12,2), or cents as bigint).",
         "column %s sums %s, whose sum is not kept exactly", quote_identifier(c.name), column_and_type(relid, attno));
}

// A column of a nested child row inside its subquery (varlevelsup 0, its only table); 0 else.
AttrNumber child_column(Node* expr, Index rti) {
  expr = strip(expr);
  if (!expr || !IsA(expr, Var)) return 0;
  Var* v = castNode(Var, expr);
  return v->varlevelsup == 0 && static_cast<Index>(v->varno) == rti && v->varattno > 0 ? v->varattno : 0;
}

// Whether two lists of C strings (a filter's constants) are equal, in order.
bool same_texts(List* x, List* y) {
  if (list_length(x) != list_length(y)) return false;
  for (int i = 0; i < list_length(x); i++)
    if (strcmp(static_cast<const char*>(list_nth(x, i)), static_cast<const char*>(list_nth(y, i))) != 0) return false;
  return true;
}

}  // namespace

// A grouped model's aggregate column: count(*), count(column) or sum(column) of the root,
// which the projector keeps exactly from each row's change (a count, an exact sum and the
// number of values it adds). The rest would need every row of the group, or arithmetic that
// is not exact.
void add_aggregate(Analysis& a, Column& c, Aggref* agg) {
  const char* name = get_func_name(agg->aggfnoid);
  const bool ours = get_func_namespace(agg->aggfnoid) == PG_CATALOG_NAMESPACE;
  if (!ours || (strcmp(name, "count") != 0 && strcmp(name, "sum") != 0)) {
    if (ours && strcmp(name, "avg") == 0)
      refuse(a, "Select sum(x) and count(x): a reader divides.", "column %s is avg(), which is not kept exactly",
             quote_identifier(c.name));
    if (ours && (strcmp(name, "min") == 0 || strcmp(name, "max") == 0))
      refuse(a, nullptr, "column %s is %s(), which a deleted row would make recompute from every other row of its "
             "group (not supported yet)", quote_identifier(c.name), name);
    refuse(a, "Aggregate with count(*), count(column) or sum(column).",
           "column %s is the aggregate %s(), which is not kept from the stream", quote_identifier(c.name), name);
  }
  if (agg->aggkind != AGGKIND_NORMAL || agg->aggdirectargs)
    refuse(a, nullptr, "column %s is an ordered-set aggregate", quote_identifier(c.name));
  if (agg->aggdistinct)
    refuse(a, "GROUP BY the column too, and count the groups when reading.", "column %s is %s(DISTINCT ...)",
           quote_identifier(c.name), name);
  if (agg->aggfilter)
    refuse(a, "Filter the view's rows with WHERE, or register a model per filter.", "column %s has FILTER (WHERE ...)",
           quote_identifier(c.name));
  if (agg->aggorder) refuse(a, nullptr, "column %s has ORDER BY inside %s()", quote_identifier(c.name), name);
  c.aggregate = name;
  c.type = agg->aggtype;
  c.table = 0;
  c.attno = 0;
  if (agg->aggstar) return;
  const char* hint = "Compute it in a generated column of its table (GENERATED ALWAYS AS (...) STORED) and aggregate that.";
  if (list_length(agg->args) != 1)
    refuse(a, hint, "column %s is %s() of more than one argument", quote_identifier(c.name), name);
  Node* arg = strip(reinterpret_cast<Node*>(linitial_node(TargetEntry, agg->args)->expr));
  if (!column_of(a, arg, &c.table, &c.attno))
    refuse(a, hint, "column %s is %s() of an expression, not of a column", quote_identifier(c.name), name);
  if (strcmp(name, "sum") == 0) c.scale = sum_scale(a, c, a.tables[c.table].relid, c.attno);
}

// A grouped model's GROUP BY: columns of the root that the view selects (they make the key),
// whose equality is that of their text (the projector groups the stream's text) and which
// cannot be NULL (a NULL has no key).
void add_groups(Analysis& a) {
  const Query* q = a.query;
  const char* hint = "Group by columns of the first table that the view selects.";
  ListCell* lc;
  foreach (lc, q->groupClause) {
    TargetEntry* te = get_sortgroupclause_tle(lfirst_node(SortGroupClause, lc), q->targetList);
    int table;
    AttrNumber attno;
    if (!column_of(a, strip(reinterpret_cast<Node*>(te->expr)), &table, &attno))
      refuse(a, "Group by a generated column of the table (GENERATED ALWAYS AS (...) STORED).",
             "GROUP BY an expression, not a column");
    const char* name = column_name(a, table, attno);
    if (te->resjunk) refuse(a, hint, "GROUP BY %s, which the view does not select", name);
    Oid type, collation;
    int32 typmod;
    get_atttypetypmodcoll(a.tables[table].relid, attno, &type, &typmod, &collation);
    if (!text_equality_is_exact(type, collation))
      refuse(a, "Group by a column of type boolean, an integer, uuid, \"char\", an enum, or text with a "
             "deterministic collation.", "GROUP BY %s, whose equality is not that of its text (the stream's)", name);
    Relation rel = relation_open(a.tables[table].relid, AccessShareLock);
    const bool not_null = TupleDescAttr(RelationGetDescr(rel), attno - 1)->attnotnull;
    relation_close(rel, AccessShareLock);
    bool filtered = false;
    for (int f = 0; f < a.nfilters; f++)
      if (a.filters[f].table == table && a.filters[f].attno == attno && strcmp(a.filters[f].op, "is not null") == 0)
        filtered = true;
    if (!not_null && !filtered)
      refuse(a, psprintf("Declare it NOT NULL, or add WHERE %s IS NOT NULL to the view.",
                         quote_identifier(get_attname(a.tables[table].relid, attno, false))),
             "GROUP BY %s, which may be NULL: a NULL group has no key", name);
    for (int g = 0; g < a.ngroup; g++)
      if (a.group[g] == attno) refuse(a, nullptr, "GROUP BY %s twice", name);
    if (a.ngroup == INDEX_MAX_KEYS) refuse(a, nullptr, "more than %d GROUP BY columns", INDEX_MAX_KEYS);
    a.group[a.ngroup++] = attno;
  }
}

// Nested child rows: a column that is a correlated subquery over one table whose rows name
// their root row by its primary key,
//   (SELECT jsonb_agg(jsonb_build_object('k', c.col, ...) ORDER BY c.col, ...) FROM child c
//     WHERE c.parent_id = root.id)
// (or coalesce(that, '[]')), or the same with count(*) or sum(c.col). The projector keeps a
// copy of each child row and, per root row, its children, and renders the column again when
// one of them changes.
void add_nested(Analysis& a, Column& c, Node* expr) {
  const char* hint = "Nest child rows as (SELECT jsonb_agg(jsonb_build_object('key', c.column, ...) ORDER BY "
                     "c.column) FROM child c WHERE c.parent_id = root.id), or with count(*), or sum(), min() or max() of c.column.";
  const char* name = quote_identifier(c.name);
  if (IsA(expr, CoalesceExpr)) {
    List* args = castNode(CoalesceExpr, expr)->args;
    Node* second = list_length(args) == 2 ? strip(static_cast<Node*>(lsecond(args))) : nullptr;
    Const* k = second && IsA(second, Const) ? castNode(Const, second) : nullptr;
    if (!k || k->consttype != JSONBOID || k->constisnull || strcmp(const_text(a, k), "[]") != 0)
      refuse(a, hint, "column %s is a coalesce() other than coalesce(subquery, '[]')", name);
    c.empty_array = true;
    expr = strip(static_cast<Node*>(linitial(args)));
    if (!IsA(expr, SubLink)) refuse(a, hint, "column %s is a coalesce() other than coalesce(subquery, '[]')", name);
  }
  SubLink* link = castNode(SubLink, expr);
  if (link->subLinkType != EXPR_SUBLINK) refuse(a, hint, "column %s is an EXISTS, IN, ANY or ARRAY subquery", name);
  Query* q = castNode(Query, link->subselect);
  if (q->cteList || q->setOperations || q->groupClause || q->groupingSets || q->havingQual || q->sortClause ||
      q->limitCount || q->limitOffset || q->distinctClause || q->hasWindowFuncs || q->hasSubLinks ||
      q->hasTargetSRFs || q->rowMarks || list_length(q->jointree->fromlist) != 1 ||
      !IsA(linitial(q->jointree->fromlist), RangeTblRef) || list_length(q->targetList) != 1)
    refuse(a, hint, "column %s is a subquery of another shape than one aggregate of one table's rows", name);
  const Index crti = castNode(RangeTblRef, linitial(q->jointree->fromlist))->rtindex;
  RangeTblEntry* rte = rt_fetch(crti, q->rtable);
  if (rte->rtekind != RTE_RELATION) refuse(a, hint, "column %s is a subquery of something other than a table", name);
  const Oid relid = rte->relid;
  const char* child = table_name(relid);

  // WHERE: child.column = root.column for each column of the root's primary key, and filters
  // of the child rows on their own columns (add_filter, once the child's table is known).
  AttrNumber parent[INDEX_MAX_KEYS], from[INDEX_MAX_KEYS];
  int n = 0;
  List* filters = NIL;
  ListCell* lc;
  foreach (lc, make_ands_implicit(reinterpret_cast<Expr*>(q->jointree->quals))) {
    Node* cond = static_cast<Node*>(lfirst(lc));
    OpExpr* op = IsA(cond, OpExpr) && list_length(castNode(OpExpr, cond)->args) == 2 ? castNode(OpExpr, cond) : nullptr;
    Node* l = op ? strip(static_cast<Node*>(linitial(op->args))) : nullptr;
    Node* r = op ? strip(static_cast<Node*>(lsecond(op->args))) : nullptr;
    if (r && child_column(r, crti)) std::swap(l, r);
    const AttrNumber ca = l ? child_column(l, crti) : 0;
    const bool reads_outer = contain_vars_of_level(cond, 1);
    if (!reads_outer) {
      filters = lappend(filters, cond);
      continue;
    }
    Var* outer = r && IsA(r, Var) && castNode(Var, r)->varlevelsup == 1 ? castNode(Var, copyObjectImpl(r)) : nullptr;
    int table = -1;
    AttrNumber ra = 0;
    if (outer) outer->varlevelsup = 0;
    if (!ca || !outer || !column_of(a, reinterpret_cast<Node*>(outer), &table, &ra) || table != 0)
      refuse(a, "Correlate the child rows with the root's primary key: WHERE child.parent_id = root.id, and "
                "filter them on their own columns.",
             "the subquery of column %s has a condition other than %s.column = %s.column that reads the "
             "outer query", name, child, table_name(a.tables[0].relid));
    const Oid type = exprType(l);
    if (type != exprType(r) || op->opno != lookup_type_cache(type, TYPECACHE_EQ_OPR)->eq_opr)
      refuse(a, "Give both columns one type.", "the subquery of column %s compares %s.%s with %s with another "
             "type or operator", name, child, quote_identifier(get_attname(relid, ca, false)), column_name(a, 0, ra));
    if (n == INDEX_MAX_KEYS) refuse(a, nullptr, "the subquery of column %s has too many conditions", name);
    parent[n] = ca;
    from[n] = ra;
    n++;
  }
  const ModelTable& root = a.tables[0];
  bool exact = n == root.nkeys;
  for (int k = 0; k < root.nkeys && exact; k++) {
    exact = false;
    for (int i = 0; i < n; i++)
      if (from[i] == root.key[k]) exact = true;
  }
  if (!exact)
    refuse(a, "Correlate the child rows with the root's primary key: WHERE child.parent_id = root.id.",
           "the subquery of column %s does not match %s's primary key, each column once", name, table_name(root.relid));

  // The child table: one entry per table, whatever the columns that nest it.
  int t = -1;
  for (int i = 1; i < a.ntables; i++)
    if (a.tables[i].relid == relid) t = i;
  if (relid == a.tables[0].relid) refuse(a, nullptr, "%s nests rows of its own root table (not supported yet)", child);
  const bool nested_before = t >= 0;  // by another column of the view
  if (t >= 0 && !a.tables[t].nested)
    refuse(a, nullptr, "%s is both joined and nested (not supported yet)", child);
  if (t >= 0) {
    bool same = a.tables[t].nparent == n;
    for (int i = 0; i < n && same; i++) same = a.tables[t].parent[i] == parent[i] && a.tables[t].from[i] == from[i];
    if (!same) refuse(a, nullptr, "%s is nested by two different conditions", child);
  } else {
    check_table(a, 0, rte);
    t = a.ntables - 1;
    ModelTable& nt = a.tables[t];
    nt.nested = true;
    nt.via = 0;
    nt.nparent = n;
    for (int i = 0; i < n; i++) {
      nt.parent[i] = parent[i];
      nt.from[i] = from[i];
    }
    Relation rel = relation_open(relid, AccessShareLock);
    Oid pkey = RelationGetPrimaryKeyIndex(rel);
    relation_close(rel, AccessShareLock);
    bool primary = false;
    if (!OidIsValid(pkey) || !read_unique_key(pkey, nt, &primary))
      refuse(a, "Give it a primary key: the projector keeps each child row by it.", "the nested table %s has no "
             "primary key", child);
  }
  ModelTable& nt = a.tables[t];
  c.table = t;
  // The child rows' filters: the same for every column that nests the table, as it is one
  // list of children per root row.
  const int before = a.nfilters;
  const char* where = psprintf("the WHERE of column %s's subquery", name);
  foreach (lc, filters) add_filter(a, static_cast<Node*>(lfirst(lc)), t, crti, where);
  if (nested_before) {
    int old_count = 0;
    bool same = true;
    for (int f = 0; f < before; f++) {
      if (a.filters[f].table != t) continue;
      const int k = before + old_count++;
      same = same && k < a.nfilters && a.filters[k].attno == a.filters[f].attno &&
             strcmp(a.filters[k].op, a.filters[f].op) == 0 && same_texts(a.filters[k].values, a.filters[f].values);
    }
    if (!same || before + old_count != a.nfilters)
      refuse(a, "Nest a table's rows under one filter, or filter them in a generated column.",
             "%s is nested with two different filters", child);
    a.nfilters = before;  // kept once, from the first column
  }

  TargetEntry* te = linitial_node(TargetEntry, q->targetList);
  Aggref* agg = IsA(te->expr, Aggref) ? castNode(Aggref, te->expr) : nullptr;
  const char* fn = agg && get_func_namespace(agg->aggfnoid) == PG_CATALOG_NAMESPACE ? get_func_name(agg->aggfnoid) : "";
  if (!agg || agg->aggdistinct || agg->aggfilter || agg->aggkind != AGGKIND_NORMAL ||
      (strcmp(fn, "count") != 0 && strcmp(fn, "sum") != 0 && strcmp(fn, "min") != 0 && strcmp(fn, "max") != 0 &&
       strcmp(fn, "jsonb_agg") != 0))
    refuse(a, hint, "the subquery of column %s is not jsonb_agg(), count(*), sum(), min() or max() of the child rows",
           name);
  c.type = agg->aggtype;
  if (strcmp(fn, "count") == 0) {
    if (!agg->aggstar) refuse(a, "Count the rows: count(*).", "the subquery of column %s counts a column", name);
    c.nested = "count";
    return;
  }
  Node* arg = strip(reinterpret_cast<Node*>(linitial_node(TargetEntry, agg->args)->expr));
  if (strcmp(fn, "sum") == 0) {
    c.attno = child_column(arg, crti);
    if (!c.attno) refuse(a, hint, "the subquery of column %s sums an expression", name);
    c.nested = "sum";
    c.scale = sum_scale(a, c, relid, c.attno);
    return;
  }
  // min() and max() are exact here, where they are not in a grouped model: the projector keeps
  // every child row of a root row and takes them again from all of its children. Of values
  // whose text is one per value, so that which row holds the extreme does not show: integers
  // and numeric(p,s) (plain numeric prints 1.5 and 1.50 for one value), up to 36 digits.
  if (strcmp(fn, "min") == 0 || strcmp(fn, "max") == 0) {
    c.attno = child_column(arg, crti);
    if (!c.attno) refuse(a, hint, "the subquery of column %s takes %s() of an expression", name, fn);
    if (decimal_scale(relid, c.attno, 36) < 0)
      refuse(a, "Take min() or max() of an integer or numeric(p,s) column (a timestamp as its epoch in a generated "
                "bigint column).",
             "column %s takes %s() of %s, whose extreme the projector cannot tell exactly", name, fn,
             column_and_type(relid, c.attno));
    c.nested = strcmp(fn, "min") == 0 ? "min" : "max";
    return;
  }
  // jsonb_agg(jsonb_build_object('key', child.column, ...) ORDER BY child.column, ...)
  FuncExpr* object = arg && IsA(arg, FuncExpr) ? castNode(FuncExpr, arg) : nullptr;
  if (!object || get_func_namespace(object->funcid) != PG_CATALOG_NAMESPACE ||
      strcmp(get_func_name(object->funcid), "jsonb_build_object") != 0 || list_length(object->args) % 2 != 0 ||
      list_length(object->args) == 0)
    refuse(a, hint, "column %s aggregates something other than jsonb_build_object('key', child.column, ...)", name);
  for (int i = 0; i < list_length(object->args); i += 2) {
    Node* k = strip(static_cast<Node*>(list_nth(object->args, i)));
    if (!IsA(k, Const) || castNode(Const, k)->constisnull)
      refuse(a, hint, "a key of column %s's objects is not a constant", name);
    const char* key = const_text(a, castNode(Const, k));
    const AttrNumber v = child_column(static_cast<Node*>(list_nth(object->args, i + 1)), crti);
    if (!v) refuse(a, hint, "the value of key %s of column %s's objects is not a column of %s", key, name, child);
    const Oid type = get_atttype(relid, v);
    if (type != INT2OID && type != INT4OID && type != INT8OID && type != NUMERICOID && type != TEXTOID &&
        type != VARCHAROID && type != BOOLOID)
      refuse(a, "Nest columns of type smallint, integer, bigint, numeric, text, varchar or boolean.",
             "the value of key %s of column %s's objects is of type %s (not supported yet)", key, name,
             format_type_be(type));
    for (int j = 0; j < c.nfields; j++)
      if (strcmp(c.field_key[j], key) == 0) refuse(a, nullptr, "column %s's objects have key %s twice", name, key);
    if (c.nfields == max_fields) refuse(a, nullptr, "column %s's objects have more than %d keys", name, max_fields);
    c.field_key[c.nfields] = key;
    c.field[c.nfields++] = v;
  }
  // ORDER BY: integer columns, NOT NULL, that with the parent columns make the order total
  // (PostgreSQL's is arbitrary among equal rows, the projector's could not be the same).
  if (!agg->aggorder)
    refuse(a, "Order the rows by their primary key: jsonb_agg(... ORDER BY child.id).",
           "column %s's array has no ORDER BY, so its order is arbitrary", name);
  foreach (lc, agg->aggorder) {
    SortGroupClause* sort = lfirst_node(SortGroupClause, lc);
    const AttrNumber o = child_column(reinterpret_cast<Node*>(get_sortgroupclause_tle(sort, agg->args)->expr), crti);
    const Oid type = o ? get_atttype(relid, o) : InvalidOid;
    if (!o || (type != INT2OID && type != INT4OID && type != INT8OID))
      refuse(a, "Order by integer columns of the child table.", "column %s's array is ordered by something other "
             "than an integer column", name);
    TypeCacheEntry* tc = lookup_type_cache(type, TYPECACHE_LT_OPR | TYPECACHE_GT_OPR);
    const bool desc = sort->sortop == tc->gt_opr;
    if ((sort->sortop != tc->lt_opr && !desc) || sort->nulls_first != desc)
      refuse(a, "Order by ASC or DESC, NULLs as the default puts them.", "column %s's array is ordered with another "
             "operator or NULLS FIRST/LAST", name);
    Relation rel = relation_open(relid, AccessShareLock);
    const bool not_null = TupleDescAttr(RelationGetDescr(rel), o - 1)->attnotnull;
    relation_close(rel, AccessShareLock);
    if (!not_null)
      refuse(a, "Order by NOT NULL columns.", "column %s's array is ordered by %s.%s, which may be NULL", name, child,
             quote_identifier(get_attname(relid, o, false)));
    if (c.norder == max_fields) refuse(a, nullptr, "column %s's array has too long an ORDER BY", name);
    c.order[c.norder] = o;
    c.order_desc[c.norder++] = desc;
  }
  for (int k = 0; k < nt.nkeys; k++) {
    bool fixed = false;
    for (int i = 0; i < c.norder; i++) fixed = fixed || c.order[i] == nt.key[k];
    for (int i = 0; i < nt.nparent; i++) fixed = fixed || nt.parent[i] == nt.key[k];
    if (!fixed)
      refuse(a, "Order by the child table's primary key too (after the columns you order by).",
             "column %s's array leaves the order of rows with equal %s to chance", name,
             c.norder == 1 ? quote_identifier(get_attname(relid, c.order[0], false)) : "values");
  }
  c.nested = "array";
}

}  // namespace pgcqrs::read_model
