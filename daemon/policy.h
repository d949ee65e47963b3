/* daemon/policy.h - which claims (overlay addresses, advertised prefixes)
 * this node accepts from the other members (pure, plus a small table of
 * what it has seen).  The rules are in docs/addressing.md. */
#ifndef GOSSAMER_DAEMON_POLICY_H
#define GOSSAMER_DAEMON_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/wire.h"

/* An IPv4 overlay address is "derived" when it is one of the first
 * GSD_POLICY_V4_K candidates of its claimant's node id; any other address
 * inside the prefix ranks as a static one (rank GSD_POLICY_V4_K). */
#define GSD_POLICY_V4_K 8
/* A claim seen this much earlier than a competing one is the incumbent. */
#define GSD_POLICY_INCUMBENT_MS 10000

enum gsd_policy_reason {
	GSD_POL_OK = 0,
	GSD_POL_DEFAULT_ROUTE, /* /0 */
	GSD_POL_OVERLAY,       /* overlaps the overlay prefixes, or an overlay
				* address outside them */
	GSD_POL_CONNECTED,     /* overlaps one of this host's networks */
	GSD_POL_ENDPOINT,      /* covers a member's gossip address or endpoint */
	GSD_POL_NOT_DERIVED,   /* IPv6 overlay address not derived from the id,
				* or IPv4 overlay without a known IPv4 prefix */
	GSD_POL_CONFLICT,      /* another member won the same prefix */
	GSD_POL_UNCERTIFIED,   /* authority mode: not allowed by the member's
				* certificate */
};

/* "default-route", "overlay", "connected", "endpoint", "not-derived",
 * "conflict", "uncertified" ("ok" for GSD_POL_OK). */
const char *gsd_policy_reason_name(enum gsd_policy_reason r);

/* This node's view, borrowed for the calls. */
struct gsd_policy {
	bool has_v4_prefix;
	struct gsm_prefix v4_prefix;	    /* IPv4 overlay prefix */
	struct gsm_prefix v6_prefix;	    /* IPv6 overlay prefix (the /48) */
	const struct gsm_prefix *connected; /* this host's networks (not the overlay
					     * interface's) */
	size_t n_connected;
	const struct gsm_prefix *accept; /* operator allow-list (accept_prefixes) */
	size_t n_accept;
};

/* p with its host bits cleared. */
void gsd_policy_normalize(struct gsm_prefix *p);

/* An advertised (routed) prefix from another member: GSD_POL_OK or why it
 * is refused.  endpoints: every member's gossip address and WireGuard
 * endpoints (only the IPs matter).  /0 and overlay overlaps are always
 * refused; connected and endpoint overlaps are waived when p is inside one
 * of pol->accept. */
enum gsd_policy_reason gsd_policy_check_prefix(const struct gsd_policy *pol,
					       const struct gsm_prefix *p,
					       const struct gsm_addr *endpoints,
					       size_t n_endpoints);

/* The rank of an IPv4 overlay address for node id: the attempt index if it
 * is one of the id's first GSD_POLICY_V4_K candidates, else GSD_POLICY_V4_K
 * (a static address).  Lower ranks win contested addresses. */
uint32_t gsd_policy_v4_rank(const struct gsm_prefix *prefix4, const uint8_t id[GSM_ID_LEN],
			    const uint8_t ip[4]);

/* A member's overlay address claim (host address, any length accepted):
 * IPv6 must be the address derived from id inside pol->v6_prefix; IPv4
 * must be inside pol->v4_prefix (rank, may be NULL, receives its rank;
 * 0 for IPv6). */
enum gsd_policy_reason gsd_policy_check_overlay(const struct gsd_policy *pol,
						const uint8_t id[GSM_ID_LEN],
						const struct gsm_prefix *addr, uint32_t *rank);

/* ------------------------------------------------ certificate coverage
 *
 * In authority mode every claim of an advert must be allowed by the
 * member's certificate (gossip/cert.h, gsm_cert_allows_*): its IPv4
 * overlay address (when the certificate pins one), its routed prefixes,
 * its labels and the relay flag.  The IPv6 overlay address is derived
 * from the identity and always allowed. */

struct gsd_cert_coverage {
	uint8_t overlay;   /* bit i: advert overlay[i] not allowed */
	uint64_t prefixes; /* bit i: advert prefixes[i] not allowed */
	uint32_t labels;   /* bit i: advert labels[i] not allowed */
	uint32_t flags;	   /* GSM_ADV_* set in the advert and not allowed */
};

struct gsm_cert;
/* What the advert a claims that its (decoded) node certificate c does not
 * allow; every bit clear when everything is covered. */
void gsd_policy_cert_coverage(const struct gsm_cert *c, const struct gsm_advert *a,
			      struct gsd_cert_coverage *out);

/* The verdict on one claim in authority mode `mode` (enum
 * gsm_authority_mode): GSD_POL_OK when covered or the mode is off, else
 * GSD_POL_UNCERTIFIED; *accepted (may be NULL) tells whether the claim is
 * used anyway: always but in require mode. */
enum gsd_policy_reason gsd_policy_cert_verdict(int mode, bool covered, bool *accepted);

/* One claimant of a contested prefix. */
struct gsd_policy_claim {
	uint8_t id[GSM_ID_LEN];
	uint32_t rank;		/* 0 for advertised prefixes and IPv6 */
	uint64_t first_seen_ms; /* when this node first saw the claim */
};

/* The one rule for contested claims, used by every node for the others'
 * claims and by a node for its own IPv4 address: lower rank wins; at equal
 * rank the claim seen GSD_POLICY_INCUMBENT_MS or more earlier wins; then
 * the lower node id.  < 0 when a wins, > 0 when b wins, 0 for one id. */
int gsd_policy_claim_cmp(const struct gsd_policy_claim *a, const struct gsd_policy_claim *b);

/* ------------------------------------------------ the table of claims seen
 *
 * Remembers, per (prefix, member), when this node first saw the claim
 * (incumbency, not persisted: a restarted node starts afresh), and the
 * claims it dropped in the last reconcile pass, logging each dropped
 * (member, prefix, reason) once through the callback. */

struct gsd_policy_drop {
	uint8_t id[GSM_ID_LEN];
	char name[GSM_MAX_NAME + 1];
	struct gsm_prefix prefix;
	enum gsd_policy_reason reason;
	bool has_winner;
	uint8_t winner[GSM_ID_LEN];
	char winner_name[GSM_MAX_NAME + 1];
	bool accepted; /* listed but used anyway (uncertified in warn mode) */
};

/* Called for a drop not reported before (or whose reason or winner
 * changed). */
typedef void (*gsd_policy_log_fn)(void *ctx, const struct gsd_policy_drop *drop);

struct gsd_policy_table;

/* log may be NULL.  NULL on allocation failure. */
struct gsd_policy_table *gsd_policy_table_new(gsd_policy_log_fn log, void *ctx);
/* Accepts NULL. */
void gsd_policy_table_free(struct gsd_policy_table *t);

/* A pass: begin, then seen() for every claim and drop() for every drop,
 * then end, which forgets claims not seen in the pass. */
void gsd_policy_table_begin(struct gsd_policy_table *t);
/* First-seen time of (prefix, id), recorded as now_ms when new.  Returns
 * now_ms when the table cannot grow. */
uint64_t gsd_policy_table_seen(struct gsd_policy_table *t, const struct gsm_prefix *p,
			       const uint8_t id[GSM_ID_LEN], uint64_t now_ms);
/* First-seen time without recording; 0 when unknown. */
uint64_t gsd_policy_table_first_seen(const struct gsd_policy_table *t, const struct gsm_prefix *p,
				     const uint8_t id[GSM_ID_LEN]);
void gsd_policy_table_drop(struct gsd_policy_table *t, const struct gsd_policy_drop *drop);
void gsd_policy_table_end(struct gsd_policy_table *t);

/* The incumbency time of this node's own claims: the first pass that saw
 * another member; a node that sees two or more others then or within
 * GSD_POLICY_INCUMBENT_MS of it joined an established cluster and counts
 * as a newcomer (GSD_POLICY_INCUMBENT_MS later).  0 while alone. */
void gsd_policy_table_contact(struct gsd_policy_table *t, size_t n_others, uint64_t now_ms);
uint64_t gsd_policy_table_self_since(const struct gsd_policy_table *t);

/* The drops of the last completed pass. */
size_t gsd_policy_table_n_drops(const struct gsd_policy_table *t);
const struct gsd_policy_drop *gsd_policy_table_drop_at(const struct gsd_policy_table *t, size_t i);

/* ------------------------------------------------ connected clusters: the overlap rule
 *
 * A gateway (gateway = yes) advertises prefixes from outside the mesh,
 * e.g. another cluster's pod and service CIDRs.  It must not advertise
 * one that overlaps a prefix another member advertises and this node
 * accepted: two clusters sharing CIDRs would otherwise be joined silently,
 * longest match splitting one address range between them.  Ordinary
 * members keep the longest-match behaviour (docs/addressing.md).
 *
 * Against an ordinary member the gateway always yields: the mesh's own
 * prefixes come first.  Against another gateway the incumbent keeps its
 * prefix (gsd_policy_claim_cmp at rank 0: ours dates from when our advert
 * first carried it, no earlier than our first contact with the mesh
 * (gsd_policy_table_self_since); theirs from when this node first saw it;
 * within GSD_POLICY_INCUMBENT_MS of each other the lower node id keeps
 * it), so two gateways never both withdraw for good: once one withdraws,
 * the other sees no overlap and advertises.  An identical prefix counts as
 * an overlap too (a second gateway for the same prefix is a standby). */

/* Another member's claim of a routed prefix that this node accepted. */
struct gsd_policy_rival {
	struct gsm_prefix prefix;
	uint8_t id[GSM_ID_LEN];
	char name[GSM_MAX_NAME + 1];
	bool gateway;		/* the member advertises GSM_ADV_GATEWAY */
	uint64_t first_seen_ms; /* when this node first saw the claim */
};

/* Must a gateway (node id self) stop advertising its prefix p, which its
 * advert carries since own_since_ms, because of rival r?  False when they
 * do not overlap (or differ in family) or r is self. */
bool gsd_policy_overlap_yields(const struct gsm_prefix *p, const uint8_t self[GSM_ID_LEN],
			       uint64_t own_since_ms, const struct gsd_policy_rival *r);

/* One (own prefix, rival) pair a gateway yields to: prefix is not
 * advertised (status `not_advertised`, reason "overlap"). */
struct gsd_policy_withheld {
	struct gsm_prefix prefix;	 /* ours (as configured), not advertised */
	struct gsm_prefix member_prefix; /* the rival's */
	uint8_t id[GSM_ID_LEN];		 /* the rival */
	char name[GSM_MAX_NAME + 1];
};

/* Every pair (own[i], rivals[k]) where own[i] yields
 * (gsd_policy_overlap_yields with own_since_ms[i]), in the order of own
 * then rivals.  *out (NULL when none) is the caller's (free).  0 or
 * -ENOMEM (then *out is NULL and *n_out 0). */
int gsd_policy_withhold(const struct gsm_prefix *own, size_t n_own, const uint64_t *own_since_ms,
			const uint8_t self[GSM_ID_LEN], const struct gsd_policy_rival *rivals,
			size_t n_rivals, struct gsd_policy_withheld **out, size_t *n_out);

/* Is own prefix p among the withheld ones (same family, length and
 * address bits)? */
bool gsd_policy_is_withheld(const struct gsd_policy_withheld *v, size_t n,
			    const struct gsm_prefix *p);

/* Is the pair x (own prefix, rival id, rival prefix) in v? */
bool gsd_policy_withheld_has(const struct gsd_policy_withheld *v, size_t n,
			     const struct gsd_policy_withheld *x);

#endif
