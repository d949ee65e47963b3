/*
 * daemon/views.c - the JSON the control API answers with (docs/control.md).
 *
 * Views only read: the core (gsm_swim_foreach/stats), our advert, the NAT
 * planner's per-peer paths and, for `peers`, the WireGuard device as the
 * backend reports it.  Field names and types are the documented contract;
 * new fields are additive.  Every view returns a new jansson reference that
 * the caller hands to gsd_ctl_reply_ok.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon_int.h"
#include "daemon/log.h"
#include "daemon/nat.h"
#include "daemon/policy.h"
#include "daemon/reconcile.h"
#include "gossip/crypto.h"

static json_t *prefixes_json(const struct gsm_prefix *p, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		char buf[64];
		gsd_format_prefix(&p[i], buf, sizeof(buf));
		json_array_append_new(a, json_string(buf));
	}
	return a;
}

static json_t *endpoints_json(const struct gsm_endpoint *e, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		char buf[64], id[2 * GSM_ID_LEN + 1];
		gsd_format_addr(&e[i].addr, buf, sizeof(buf));
		json_t *o = json_object();
		json_object_set_new(o, "address", json_string(buf));
		json_object_set_new(o, "observed", json_boolean(e[i].flags & GSM_EP_OBSERVED));
		if (e[i].has_observer) {
			gsd_hex_id(e[i].observer, id);
			json_object_set_new(o, "observer", json_string(id));
		} else {
			json_object_set_new(o, "observer", json_null());
		}
		json_array_append_new(a, o);
	}
	return a;
}

/* ------------------------------------------------------------ members */

struct members_ctx {
	struct gsd_daemon *d;
	json_t *arr;
	const struct gsd_member *self; /* our own advert as a record */
};

static int member_to_json(void *arg, const struct gsm_swim_member *m)
{
	struct members_ctx *mc = arg;
	struct gsd_daemon *d = mc->d;
	json_t *o = json_object();
	char id[2 * GSM_ID_LEN + 1], key[45], buf[64];
	const struct gsd_member *a = m->is_self ? mc->self : gsd_memcache_find(d->members, m->id);
	if (a && !a->has_advert)
		a = NULL;
	gsd_hex_id(m->id, id);
	json_object_set_new(o, "name", json_string(a ? a->name : ""));
	json_object_set_new(o, "id", json_string(id));
	if (a) {
		gsd_b64_key(a->wg_pubkey, key);
		json_object_set_new(o, "wg_public_key", json_string(key));
	} else {
		json_object_set_new(o, "wg_public_key", json_string(""));
	}
	json_object_set_new(
	    o, "state",
	    json_string(gsm_state_name(m->is_self && !d->leaving ? GSM_STATE_ALIVE : m->state)));
	json_object_set_new(o, "self", json_boolean(m->is_self));
	json_object_set_new(o, "reachable", json_boolean(m->reachable));
	json_object_set_new(o, "overlay_addresses",
			    a ? prefixes_json(a->overlay, a->n_overlay) : json_array());
	json_object_set_new(o, "endpoints",
			    a ? endpoints_json(a->endpoints, a->n_endpoints) : json_array());
	if (m->addr.family) {
		gsd_format_addr(&m->addr, buf, sizeof(buf));
		json_object_set_new(o, "gossip_address", json_string(buf));
	} else {
		json_object_set_new(o, "gossip_address", json_null());
	}
	json_object_set_new(o, "prefixes",
			    a ? prefixes_json(a->prefixes, a->n_prefixes) : json_array());
	json_t *labels = json_object();
	bool strict = gsd_config_authority_mode(&d->cfg) == GSD_AUTH_MODE_REQUIRE;
	for (int i = 0; a && i < a->n_labels; i++)
		if (!strict || !(a->uncert_labels & (1u << i))) /* refused: not shown */
			json_object_set_new(labels, a->labels[i].key,
					    json_string(a->labels[i].value));
	json_object_set_new(o, "labels", labels);
	json_object_set_new(o, "generation",
			    json_integer((json_int_t)(a ? a->adv_generation : m->generation)));
	json_object_set_new(o, "version", json_integer((json_int_t)(a ? a->adv_version : 0)));
	json_object_set_new(o, "incarnation", json_integer((json_int_t)m->incarnation));
	json_object_set_new(o, "public", json_boolean(a && (a->flags & GSM_ADV_PUBLIC)));
	json_object_set_new(o, "relay", json_boolean(a && (a->flags & GSM_ADV_RELAY)));
	json_object_set_new(o, "gateway", json_boolean(a && (a->flags & GSM_ADV_GATEWAY)));
	json_object_set_new(o, "behind_nat", json_boolean(a && (a->flags & GSM_ADV_BEHIND_NAT)));
	uint8_t rid[GSM_ID_LEN];
	if (!m->is_self && d->nat && gsd_nat_peer_path(d->nat, m->id, rid) == GSD_NAT_RELAYED) {
		char rhex[2 * GSM_ID_LEN + 1];
		gsd_hex_id(rid, rhex);
		json_object_set_new(o, "relayed_via", json_string(rhex));
	} else {
		json_object_set_new(o, "relayed_via", json_null());
	}
	json_object_set_new(
	    o, "state_changed",
	    json_integer(m->is_self ? d->start_unix : gsd_ms_to_unix(m->state_changed_ms)));
	json_object_set_new(o, "cert", gsd_view_cert(m, a));
	json_array_append_new(mc->arr, o);
	return 0;
}

json_t *gsd_view_members(struct gsd_daemon *d)
{
	struct gsd_member *self = gsd_member_from_advert(&d->adv);
	struct members_ctx mc = {.d = d, .arr = json_array(), .self = self};
	if (self)
		gsm_swim_foreach(d->swim, member_to_json, &mc);
	gsd_member_free(self);
	return mc.arr;
}

/* ------------------------------------------------------------ status */

/* Converged: nothing left to disseminate and an anti-entropy sync finished
 * within the last sync interval.  The core schedules syncs with +-25 %
 * jitter and a sync takes a round trip, so "within the interval" allows
 * for that; otherwise `converged` would flicker to false between two
 * perfectly normal syncs (seen with 1 s sync intervals under load). */
static bool is_converged(struct gsd_daemon *d, const struct gsm_swim_stats *st)
{
	if (st->pending_updates)
		return false;
	if (st->alive + st->suspect <= 1)
		return gsm_swim_converged(d->swim); /* alone */
	if (!st->last_sync_ms)
		return false;
	uint64_t iv = gsm_swim_sync_interval(d->swim);
	uint64_t slack = iv / 4 + 2ull * d->cfg.probe_interval_ms;
	uint64_t n = gsd_now_ms();
	return n < st->last_sync_ms || n - st->last_sync_ms <= iv + slack;
}

/* the claims the last reconcile pass refused or lost (daemon/policy.h) */
/* refused datagrams by reason, every reason present (docs/control.md) */
static json_t *rejected_json(const struct gsd_daemon *d)
{
	json_t *o = json_object();
	for (int i = 0; i < GSD_REJECT_N; i++)
		json_object_set_new(o, gsd_reject_reason_name(i),
				    json_integer((json_int_t)d->rejected[i]));
	return o;
}

/* {"ids": [primary first, ...], "primary": id or null} */
static json_t *cluster_keys_json(const struct gsm_keyring *kr)
{
	json_t *o = json_object(), *ids = json_array();
	uint16_t buf[GSM_MAX_KEYS];
	size_t n = kr ? gsm_keyring_ids(kr, buf, GSM_MAX_KEYS) : 0;
	for (size_t i = 0; i < n && i < GSM_MAX_KEYS; i++)
		json_array_append_new(ids, json_integer(buf[i]));
	json_object_set_new(o, "ids", ids);
	int p = kr ? gsm_keyring_primary(kr) : -ENOENT;
	json_object_set_new(o, "primary", p >= 0 ? json_integer(p) : json_null());
	return o;
}

static json_t *dropped_claims_json(struct gsd_daemon *d)
{
	json_t *a = json_array();
	const struct gsd_policy_table *t = gsd_policy_table_of(d);
	for (size_t i = 0; t && i < gsd_policy_table_n_drops(t); i++) {
		const struct gsd_policy_drop *x = gsd_policy_table_drop_at(t, i);
		char id[2 * GSM_ID_LEN + 1], buf[64];
		json_t *o = json_object();
		gsd_hex_id(x->id, id);
		gsd_format_prefix(&x->prefix, buf, sizeof(buf));
		json_object_set_new(o, "member", json_string(x->name));
		json_object_set_new(o, "id", json_string(id));
		json_object_set_new(o, "prefix", json_string(buf));
		json_object_set_new(o, "reason", json_string(gsd_policy_reason_name(x->reason)));
		json_object_set_new(o, "accepted", json_boolean(x->accepted));
		if (x->has_winner) {
			gsd_hex_id(x->winner, id);
			json_object_set_new(o, "winner", json_string(id));
		} else {
			json_object_set_new(o, "winner", json_null());
		}
		json_array_append_new(a, o);
	}
	return a;
}

json_t *gsd_view_status(struct gsd_daemon *d)
{
	struct gsm_swim_stats st;
	char id[2 * GSM_ID_LEN + 1], key[45];
	gsm_swim_stats(d->swim, &st);
	json_t *o = json_object();
	gsd_hex_id(gsm_identity_public(d->keys.identity), id);
	gsd_b64_key(d->keys.wg_public, key);
	json_object_set_new(o, "name", json_string(d->cfg.name));
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "wg_public_key", json_string(key));
	json_object_set_new(o, "version_string", json_string(GSM_VERSION));
	json_object_set_new(o, "backend", json_string(gsd_backend_name(d->backend_kind)));
	json_object_set_new(o, "interface", json_string(d->cfg.interface));
	json_object_set_new(o, "wg_port", json_integer(d->cfg.wg_port));
	json_object_set_new(o, "gossip_port", json_integer(d->cfg.gossip_port));
	json_object_set_new(o, "overlay_addresses",
			    prefixes_json(d->adv.overlay, d->adv.n_overlay));
	json_object_set_new(o, "endpoints", endpoints_json(d->adv.endpoints, d->adv.n_endpoints));
	json_object_set_new(o, "prefixes", prefixes_json(d->adv.prefixes, d->adv.n_prefixes));
	json_t *mm = json_object();
	json_object_set_new(mm, "alive", json_integer(st.alive));
	json_object_set_new(mm, "suspect", json_integer(st.suspect));
	json_object_set_new(mm, "dead", json_integer(st.dead));
	json_object_set_new(mm, "left", json_integer(st.left));
	json_object_set_new(mm, "total", json_integer(st.total));
	json_object_set_new(o, "members", mm);
	json_object_set_new(o, "converged", json_boolean(is_converged(d, &st)));
	json_object_set_new(o, "pending_updates", json_integer(st.pending_updates));
	json_object_set_new(o, "last_sync", json_integer(gsd_ms_to_unix(st.last_sync_ms)));
	json_object_set_new(o, "generation", json_integer((json_int_t)d->generation));
	json_object_set_new(o, "uptime",
			    json_integer((json_int_t)((gsd_now_ms() - d->start_ms) / 1000)));
	json_object_set_new(o, "behind_nat", json_boolean(d->behind_nat));
	json_object_set_new(o, "dropped_claims", dropped_claims_json(d));
	/* connected clusters: a gateway's prefixes withheld (advert.c) */
	json_object_set_new(o, "not_advertised", gsd_view_not_advertised(d));
	/* additive (docs/control.md): gossip traffic counters and memory */
	json_t *g = json_object();
	json_object_set_new(g, "datagrams_sent", json_integer((json_int_t)st.dgrams_sent));
	json_object_set_new(g, "bytes_sent", json_integer((json_int_t)st.bytes_sent));
	json_object_set_new(g, "datagrams_received", json_integer((json_int_t)st.dgrams_recv));
	json_object_set_new(g, "bytes_received", json_integer((json_int_t)st.bytes_recv));
	json_object_set_new(g, "datagrams_bad", json_integer((json_int_t)st.dgrams_bad));
	json_object_set_new(g, "incarnation", json_integer((json_int_t)st.incarnation));
	json_object_set_new(g, "core_memory_bytes", json_integer((json_int_t)st.memory_bytes));
	json_object_set_new(g, "claims_rejected", json_integer((json_int_t)st.claims_rejected));
	json_object_set_new(g, "admission_refused", json_integer((json_int_t)st.admission_refused));
	json_object_set_new(g, "updates_unknown", json_integer((json_int_t)st.updates_unknown));
	/* envelope v3: unattributed requests the core ignored (the refused
	 * datagrams are in "rejected": replay, clock_skew, bad_sender) */
	json_object_set_new(g, "unattributed_dropped",
			    json_integer((json_int_t)st.unattributed_dropped));
	json_object_set_new(g, "replay_evicted", json_integer((json_int_t)st.replay_evicted));
	/* signed claims, admission, amplification (docs/protocol.md) */
	json_object_set_new(g, "claims_unsigned", json_integer((json_int_t)st.claims_unsigned));
	json_object_set_new(g, "admission_ratelimited",
			    json_integer((json_int_t)st.admission_ratelimited));
	json_object_set_new(g, "unreachable", json_integer((json_int_t)st.unreachable));
	json_object_set_new(g, "unreachable_reaped",
			    json_integer((json_int_t)st.unreachable_reaped));
	json_object_set_new(g, "replies_capped", json_integer((json_int_t)st.replies_capped));
	json_object_set_new(g, "rejected", rejected_json(d));
	json_object_set_new(o, "gossip", g);
	json_object_set_new(o, "cluster_keys", cluster_keys_json(d->kr));
	json_object_set_new(o, "authority", gsd_view_authority(d));
	json_object_set_new(o, "gateway", gsd_gateway_view(d->gw, &d->cfg));
	json_object_set_new(o, "exit", gsd_exit_view(d));
	if (d->nat) {
		struct gsd_nat_stats ns;
		gsd_nat_stats(d->nat, &ns);
		json_t *nj = json_object();
		json_object_set_new(nj, "direct", json_integer(ns.direct));
		json_object_set_new(nj, "trying", json_integer(ns.trying));
		json_object_set_new(nj, "relayed", json_integer(ns.relayed));
		json_object_set_new(nj, "pokes", json_integer((json_int_t)ns.pokes));
		json_object_set_new(nj, "relay_switches",
				    json_integer((json_int_t)ns.relay_switches));
		json_object_set_new(o, "nat", nj);
	}
	return o;
}

/* ------------------------------------------------------------ peers */

/* wg key -> member, built once per `peers` request (sorted, bsearch) */
/* one WireGuard peer, named through the member cache's key index; the
 * relay it goes through when the NAT planner relays it */
static json_t *peer_to_json(struct gsd_daemon *d, const struct gnl_wg_peer *p)
{
	char key[45], ep[GNL_SOCKADDR_STRLEN], id[2 * GSM_ID_LEN + 1];
	json_t *o = json_object();
	gsd_b64_key(p->public_key, key);
	json_object_set_new(o, "wg_public_key", json_string(key));
	const struct gsd_member *e = gsd_memcache_find_wgkey(d->members, p->public_key, NULL);
	if (e) {
		gsd_hex_id(e->id, id);
		json_object_set_new(o, "name", json_string(e->name));
		json_object_set_new(o, "id", json_string(id));
	} else {
		json_object_set_new(o, "name", json_null());
		json_object_set_new(o, "id", json_null());
	}
	if (p->endpoint.sa.sa_family != AF_UNSPEC) {
		struct gsm_addr a;
		gsd_sockaddr_to_addr(&p->endpoint, &a);
		gsd_format_addr(&a, ep, sizeof(ep));
		json_object_set_new(o, "endpoint", json_string(ep));
	} else {
		json_object_set_new(o, "endpoint", json_null());
	}
	json_t *aips = json_array();
	for (size_t k = 0; k < p->n_allowedips; k++) {
		char b[GNL_PREFIX_STRLEN];
		json_array_append_new(
		    aips, json_string(gnl_prefix_format(&p->allowedips[k], b, sizeof(b))));
	}
	json_object_set_new(o, "allowed_ips", aips);
	json_object_set_new(o, "latest_handshake",
			    json_integer((json_int_t)p->last_handshake.tv_sec));
	json_object_set_new(o, "rx_bytes", json_integer((json_int_t)p->rx_bytes));
	json_object_set_new(o, "tx_bytes", json_integer((json_int_t)p->tx_bytes));
	json_object_set_new(o, "persistent_keepalive", json_integer(p->persistent_keepalive));
	uint8_t rid[GSM_ID_LEN];
	const char *relay_name = NULL;
	if (e && d->nat && gsd_nat_peer_path(d->nat, e->id, rid) == GSD_NAT_RELAYED) {
		const struct gsd_member *relay = gsd_memcache_find(d->members, rid);
		relay_name = relay && relay->has_advert ? relay->name : "";
	}
	json_object_set_new(o, "relayed", json_boolean(relay_name != NULL));
	json_object_set_new(o, "relay", relay_name ? json_string(relay_name) : json_null());
	return o;
}

int gsd_view_peers(struct gsd_daemon *d, json_t **out)
{
	if (d->backend_kind == GSD_BACKEND_NONE) {
		*out = json_array();
		return 0;
	}
	struct gnl_wg_device *dev = NULL;
	int r = gsd_backend_get(d->be, &dev);
	if (r < 0)
		return r;
	json_t *arr = json_array();
	for (size_t i = 0; i < dev->n_peers; i++)
		json_array_append_new(arr, peer_to_json(d, &dev->peers[i]));
	gnl_wg_device_free(dev);
	*out = arr;
	return 0;
}
