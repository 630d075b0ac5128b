// PostgreSQL zone: the pgcqrs output plugin's entry points. Each callback reads the change
// into plain rows, hands them to the C++ EventWriter through PGCQRS_CXX, then writes the
// finished messages; see docs/boundary.md for why the code is shaped this way.
#include "pgcqrs/boundary.hpp"
#include "pgcqrs/events.hpp"
#include "pgcqrs/options.hpp"

#include <new>

#include "pg_headers.h"
#include "relation_map.h"
#include "row_image.h"
#include "text_image.h"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);
void _PG_output_plugin_init(OutputPluginCallbacks* cb);
}

namespace pgcqrs {
namespace {

// How many changes may pass between progress reports to the walsender (as pgoutput does).
constexpr int progress_every = 100;

struct PluginState {
  MemoryContext change_context;  // reset after every change
  EventWriter* writer;           // owned; deleted when the decoding context goes away
  int changes_since_progress;
  bool transaction_framing;
  StringInfo frame;              // transaction framing: messages not yet written
};

PluginState* state_of(LogicalDecodingContext* ctx) {
  return static_cast<PluginState*>(ctx->output_plugin_private);
}

void destroy_writer(void* arg) {
  auto* state = static_cast<PluginState*>(arg);
  delete state->writer;  // noexcept: frees only C++ memory
  state->writer = nullptr;
}

// Reports progress so that a walsender decoding a long run of changes (ours or not) keeps
// answering keepalives and can move the slot past transactions that emitted nothing.
void report_progress(LogicalDecodingContext* ctx, PluginState* state, bool skipped_xact) {
  if (ctx->end_xact || ++state->changes_since_progress >= progress_every) {
    OutputPluginUpdateProgress(ctx, skipped_xact);
    state->changes_since_progress = 0;
  }
}

// Writes one output message.
void write_output(LogicalDecodingContext* ctx, const char* data, int len, bool last) {
  OutputPluginPrepareWrite(ctx, last);
  appendBinaryStringInfo(ctx->out, data, len);
  OutputPluginWrite(ctx, last);
}

// Copies the messages the writer finished into the decoding output: one write per message,
// or with transaction framing one write per transaction (per frame_bytes of it). Each
// write costs the walsender a send and a clock read, and the consumer a message.
void write_messages(LogicalDecodingContext* ctx, PluginState* state, bool ends_transaction) {
  EventWriter* writer = state->writer;
  size_t count = writer->message_count();
  if (state->transaction_framing) {
    StringInfo frame = state->frame;
    for (size_t i = 0; i < count; ++i) {
      std::string_view message = writer->message(i);
      if (frame->len > 0) appendStringInfoChar(frame, '\n');  // messages never hold a raw newline
      appendBinaryStringInfo(frame, message.data(), static_cast<int>(message.size()));
    }
    writer->clear();
    if (frame->len > 0 && (ends_transaction || static_cast<size_t>(frame->len) >= frame_bytes)) {
      write_output(ctx, frame->data, frame->len, ends_transaction);
      resetStringInfo(frame);
    }
    return;
  }
  for (size_t i = 0; i < count; ++i) {
    std::string_view message = writer->message(i);
    write_output(ctx, message.data(), static_cast<int>(message.size()), ends_transaction && i + 1 == count);
  }
  writer->clear();
}

void startup_cb(LogicalDecodingContext* ctx, OutputPluginOptions* opt, bool) {
  auto* state = static_cast<PluginState*>(MemoryContextAllocZero(ctx->context, sizeof(PluginState)));
  state->change_context = AllocSetContextCreate(ctx->context, "pgcqrs change", ALLOCSET_DEFAULT_SIZES);
  ctx->output_plugin_private = state;
  opt->output_type = OUTPUT_PLUGIN_TEXTUAL_OUTPUT;
  opt->receive_rewrites = false;

  auto* cleanup = static_cast<MemoryContextCallback*>(
      MemoryContextAllocZero(ctx->context, sizeof(MemoryContextCallback)));
  cleanup->func = destroy_writer;
  cleanup->arg = state;
  MemoryContextRegisterResetCallback(ctx->context, cleanup);

  // Options as plain arrays, so that the C++ side never touches a PostgreSQL List.
  int noptions = list_length(ctx->output_plugin_options);
  const char** names = static_cast<const char**>(palloc0(sizeof(char*) * (noptions + 1)));
  const char** values = static_cast<const char**>(palloc0(sizeof(char*) * (noptions + 1)));
  int i = 0;
  ListCell* lc;
  foreach (lc, ctx->output_plugin_options) {
    DefElem* elem = static_cast<DefElem*>(lfirst(lc));
    names[i] = elem->defname;
    values[i] = elem->arg ? strVal(elem->arg) : nullptr;
    ++i;
  }

  char error[512] = "";
  PGCQRS_CXX({
    OptionParser parser;
    for (int k = 0; k < noptions; ++k) {
      if (!parser.add(names[k], values[k])) {
        snprintf(error, sizeof error, "%s", parser.error().c_str());
        return;
      }
    }
    state->writer = new EventWriter(parser.options());
    state->transaction_framing = parser.options().transaction_framing;
  });
  if (error[0] != '\0')
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("pgcqrs: %s", error)));
  MemoryContext previous = MemoryContextSwitchTo(ctx->context);
  state->frame = makeStringInfo();
  MemoryContextSwitchTo(previous);
}

void begin_cb(LogicalDecodingContext* ctx, ReorderBufferTXN* txn) {
  PluginState* state = state_of(ctx);
  TxnInfo info;
  info.xid = txn->xid;
  info.commit_lsn = txn->end_lsn;
  info.commit_time = txn->xact_time.commit_time;
  PGCQRS_CXX(state->writer->begin(info));
}

void change_cb(LogicalDecodingContext* ctx, ReorderBufferTXN*, Relation rel, ReorderBufferChange* change) {
  PluginState* state = state_of(ctx);
  report_progress(ctx, state, false);
  const RelationInfo* info = relation_info(rel);
  if (info->table == Table::None && info->nmodel_columns == 0) return;

  TupleDesc desc = RelationGetDescr(rel);
  HeapTuple new_tuple = change->data.tp.newtuple ? &change->data.tp.newtuple->tuple : nullptr;
  HeapTuple old_tuple = change->data.tp.oldtuple ? &change->data.tp.oldtuple->tuple : nullptr;
  EventWriter* writer = state->writer;
  MemoryContext previous = MemoryContextSwitchTo(state->change_context);

  if (info->table == Table::ReadModels) {  // a model registered, replaced or dropped
    if ((change->action == REORDER_BUFFER_CHANGE_INSERT || change->action == REORDER_BUFFER_CHANGE_UPDATE) &&
        new_tuple) {
      ReadModelRow row = read_read_model(*info, desc, new_tuple);
      bool replaced = change->action == REORDER_BUFFER_CHANGE_UPDATE;
      PGCQRS_CXX(writer->read_model_registered(row, replaced));
    } else if (change->action == REORDER_BUFFER_CHANGE_DELETE && old_tuple) {
      ReadModelRow row = read_read_model(*info, desc, old_tuple);
      PGCQRS_CXX(writer->read_model_dropped(row.name));
    }
    MemoryContextSwitchTo(previous);
    write_messages(ctx, state, false);
    MemoryContextReset(state->change_context);
    return;
  }

  if (info->nmodel_columns > 0) {  // a table registered read models read
    RowChange kind = change->action == REORDER_BUFFER_CHANGE_INSERT   ? RowChange::Inserted
                     : change->action == REORDER_BUFFER_CHANGE_UPDATE ? RowChange::Updated
                                                                      : RowChange::Deleted;
    bool known = change->action == REORDER_BUFFER_CHANGE_INSERT || change->action == REORDER_BUFFER_CHANGE_UPDATE ||
                 change->action == REORDER_BUFFER_CHANGE_DELETE;
    // An insert or update without a new image, or a delete without an old one, says nothing.
    if (known && (kind == RowChange::Deleted ? old_tuple != nullptr : new_tuple != nullptr)) {
      RowColumn* columns = read_model_row(*info, desc, kind == RowChange::Deleted ? nullptr : new_tuple, old_tuple);
      std::string_view table(info->qualified_name);
      int count = info->nmodel_columns;
      bool has_old = old_tuple != nullptr;
      bool write_model = info->table != Table::None;
      PGCQRS_CXX(writer->row_changed(kind, table, columns, static_cast<std::size_t>(count), has_old, write_model));
    }
  }
  if (info->table == Table::None) {
    MemoryContextSwitchTo(previous);
    write_messages(ctx, state, false);
    MemoryContextReset(state->change_context);
    return;
  }
  // A table of the write model: its domain events too.

  switch (change->action) {
    case REORDER_BUFFER_CHANGE_INSERT:
      if (!new_tuple) break;
      switch (info->table) {
        case Table::Users: {
          UserRow row = read_user(*info, desc, new_tuple);
          PGCQRS_CXX(writer->user_inserted(row));
          break;
        }
        case Table::Products: {
          ProductRow row = read_product(*info, desc, new_tuple);
          PGCQRS_CXX(writer->product_inserted(row));
          break;
        }
        case Table::Orders: {
          OrderRow row = read_order(*info, desc, new_tuple);
          PGCQRS_CXX(writer->order_inserted(row));
          break;
        }
        case Table::OrderItems: {
          ItemRow row = read_item(*info, desc, new_tuple);
          PGCQRS_CXX(writer->item_inserted(row));
          break;
        }
        case Table::None:
        case Table::ReadModels: break;
      }
      break;

    case REORDER_BUFFER_CHANGE_UPDATE:
      if (!new_tuple) break;
      switch (info->table) {
        case Table::Users: {
          UserRow row = read_user(*info, desc, new_tuple);
          UserRow old_row;
          if (old_tuple) old_row = read_user(*info, desc, old_tuple);
          PGCQRS_CXX(writer->user_updated(old_tuple ? &old_row : nullptr, row));
          break;
        }
        case Table::Products: {
          ProductRow row = read_product(*info, desc, new_tuple);
          ProductRow old_row;
          if (old_tuple) old_row = read_product(*info, desc, old_tuple);
          PGCQRS_CXX(writer->product_updated(old_tuple ? &old_row : nullptr, row));
          break;
        }
        case Table::Orders: {
          OrderRow row = read_order(*info, desc, new_tuple);
          OrderRow old_row;
          if (old_tuple) old_row = read_order(*info, desc, old_tuple);
          PGCQRS_CXX(writer->order_updated(old_tuple ? &old_row : nullptr, row));
          break;
        }
        case Table::OrderItems: {
          ItemRow row = read_item(*info, desc, new_tuple);
          ItemRow old_row;
          if (old_tuple) old_row = read_item(*info, desc, old_tuple);
          PGCQRS_CXX(writer->item_updated(old_tuple ? &old_row : nullptr, row));
          break;
        }
        case Table::None:
        case Table::ReadModels: break;
      }
      break;

    case REORDER_BUFFER_CHANGE_DELETE:
      // Without an old image (REPLICA IDENTITY NOTHING) there is nothing to identify the row.
      if (!old_tuple) break;
      switch (info->table) {
        case Table::Users: {
          UserRow row = read_user(*info, desc, old_tuple);
          PGCQRS_CXX(writer->user_deleted(row));
          break;
        }
        case Table::Products: {
          ProductRow row = read_product(*info, desc, old_tuple);
          PGCQRS_CXX(writer->product_deleted(row));
          break;
        }
        case Table::Orders: {
          OrderRow row = read_order(*info, desc, old_tuple);
          PGCQRS_CXX(writer->order_deleted(row));
          break;
        }
        case Table::OrderItems: {
          ItemRow row = read_item(*info, desc, old_tuple);
          PGCQRS_CXX(writer->item_deleted(row));
          break;
        }
        case Table::None:
        case Table::ReadModels: break;
      }
      break;

    default:
      break;
  }

  MemoryContextSwitchTo(previous);
  write_messages(ctx, state, false);
  MemoryContextReset(state->change_context);
}

void truncate_cb(LogicalDecodingContext* ctx, ReorderBufferTXN*, int nrelations, Relation relations[],
                 ReorderBufferChange*) {
  PluginState* state = state_of(ctx);
  bool users = false, products = false, orders = false, items = false;
  auto* modeled = static_cast<std::string_view*>(palloc(sizeof(std::string_view) * nrelations));
  int nmodeled = 0;
  for (int i = 0; i < nrelations; ++i) {
    const RelationInfo* info = relation_info(relations[i]);
    switch (info->table) {
      case Table::Users: users = true; break;
      case Table::Products: products = true; break;
      case Table::Orders: orders = true; break;
      case Table::OrderItems: items = true; break;
      case Table::None: break;
      case Table::ReadModels: continue;  // refused by its trigger
    }
    if (info->nmodel_columns > 0) modeled[nmodeled++] = std::string_view(info->qualified_name);
  }
  if (users || products || orders || items) PGCQRS_CXX(state->writer->truncated(users, products, orders, items));
  if (nmodeled > 0) PGCQRS_CXX(state->writer->rows_truncated(modeled, static_cast<std::size_t>(nmodeled)));
  pfree(modeled);
  write_messages(ctx, state, false);
}

void message_cb(LogicalDecodingContext* ctx, ReorderBufferTXN*, XLogRecPtr, bool transactional,
                const char* prefix, Size size, const char* content) {
  // A non-transactional message belongs to no commit, so it has no place in the stream.
  if (!transactional || strcmp(prefix, "pgcqrs") != 0) return;
  PluginState* state = state_of(ctx);
  MemoryContext previous = MemoryContextSwitchTo(state->change_context);
  Value raw = utf8_image(content, size);  // bounded: what an InvalidMessage shows of it
  MemoryContextSwitchTo(previous);
  PGCQRS_CXX(state->writer->app_message(std::string_view(content, size), raw));
  write_messages(ctx, state, false);
  MemoryContextReset(state->change_context);
}

void commit_cb(LogicalDecodingContext* ctx, ReorderBufferTXN*, XLogRecPtr) {
  PluginState* state = state_of(ctx);
  PGCQRS_CXX(state->writer->commit());
  report_progress(ctx, state, !state->writer->began());
  write_messages(ctx, state, true);
}

void shutdown_cb(LogicalDecodingContext*) {
  // The writer is deleted by the memory context callback registered in startup_cb, which
  // also runs when decoding ends with an error.
}

}  // namespace
}  // namespace pgcqrs

void _PG_init(void) {
  pgcqrs::relation_map_init();
}

void _PG_output_plugin_init(OutputPluginCallbacks* cb) {
  cb->startup_cb = pgcqrs::startup_cb;
  cb->begin_cb = pgcqrs::begin_cb;
  cb->change_cb = pgcqrs::change_cb;
  cb->truncate_cb = pgcqrs::truncate_cb;
  cb->message_cb = pgcqrs::message_cb;
  cb->commit_cb = pgcqrs::commit_cb;
  cb->shutdown_cb = pgcqrs::shutdown_cb;
}
