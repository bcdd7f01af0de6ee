#pragma once

#include "core/counters.h"

namespace zinc {
namespace internal {

// Every counter an endpoint keeps under a fixed name, as a field: registered once, when the
// endpoint starts (so each is listed, at 0, from the start), and added to without a lookup by
// name. The names are the contract (docs: failover.md, trees.md, sync.md); counters with labels
// (zinc_frames_rejected_total{...}, zinc_messages_received_total{...}) are looked up where they
// are counted. The Counters outlive this. Thread-safe (a Counter is an atomic).
#define ZINC_ENDPOINT_COUNTERS(X)                                    \
  X(apply_errors, "zinc_apply_errors_total")                         \
  X(bad_snapshots, "zinc_bad_snapshots_total")                       \
  X(catchups_requested, "zinc_catchups_requested_total")             \
  X(catchups_served, "zinc_catchups_served_total")                   \
  X(catchups_from_store, "zinc_catchups_from_store_total")           \
  X(bridges_from_store, "zinc_bridges_from_store_total")             \
  X(child_subscriptions, "zinc_child_subscriptions_total")           \
  X(child_unsubscriptions, "zinc_child_unsubscriptions_total")       \
  X(children_lost, "zinc_children_lost_total")                       \
  X(children_readmitted, "zinc_children_readmitted_total")           \
  X(documents_created, "zinc_documents_created_total")               \
  X(documents_deleted, "zinc_documents_deleted_total")               \
  X(documents_loaded, "zinc_documents_loaded_total")                 \
  X(documents_unloaded, "zinc_documents_unloaded_total")             \
  X(documents_unloadable, "zinc_documents_unloadable_total")         \
  X(documents_not_taken_over, "zinc_documents_not_taken_over_total") \
  X(edits_fitted, "zinc_edits_fitted_total")                         \
  X(edits_rebased, "zinc_edits_rebased_total")                       \
  X(edits_recovered, "zinc_edits_recovered_total")                   \
  X(edits_refused, "zinc_edits_refused_total")                       \
  X(edits_resent, "zinc_edits_resent_total")                         \
  X(elections, "zinc_elections_total")                               \
  X(epoch_changes, "zinc_epoch_changes_total")                       \
  X(fragments_duplicate, "zinc_fragments_duplicate_total")           \
  X(fragments_held_back, "zinc_fragments_held_back_total")           \
  X(fragments_received, "zinc_fragments_received_total")             \
  X(fragments_renacked, "zinc_fragments_renacked_total")             \
  X(fragments_sequenced, "zinc_fragments_sequenced_total")           \
  X(members_left, "zinc_members_left_total")                         \
  X(members_timed_out, "zinc_members_timed_out_total")               \
  X(parent_lost, "zinc_parent_lost_total")                           \
  X(reading_paused, "zinc_reading_paused_total")                     \
  X(relay_replicas_closed, "zinc_relay_replicas_closed_total")       \
  X(relay_replicas_opened, "zinc_relay_replicas_opened_total")       \
  X(resyncs, "zinc_resyncs_total")                                   \
  X(root_lost, "zinc_root_lost_total")                               \
  X(root_pauses, "zinc_root_pauses_total")                           \
  X(snapshots_applied, "zinc_snapshots_applied_total")               \
  X(snapshots_served, "zinc_snapshots_served_total")                 \
  X(snapshots_written, "zinc_snapshots_written_total")               \
  X(stale_epoch_dropped, "zinc_stale_epoch_dropped_total")           \
  X(stepped_down, "zinc_stepped_down_total")                         \
  X(tail_fragments_taken, "zinc_tail_fragments_taken_total")         \
  X(takeovers, "zinc_takeovers_total")

struct EndpointMetrics {
  explicit EndpointMetrics(Counters* counters);
#define ZINC_COUNTER_FIELD(field, name) Counter* field = nullptr;
  ZINC_ENDPOINT_COUNTERS(ZINC_COUNTER_FIELD)
#undef ZINC_COUNTER_FIELD
};

}  // namespace internal
}  // namespace zinc
