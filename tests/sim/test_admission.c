/*
 * tests/sim/test_admission.c - admission: a key holder minting identities.
 *
 * N = 16 converged nodes; the attacker is node 1.  It mints FAKES fresh
 * identities, each with a correctly self-signed advert, and sends all of
 * them to every other node within a few seconds (GOSSIP datagrams of
 * PER_DGRAM adverts, from its own address); half of them come with an
 * ALIVE update naming the attacker's address as their gossip address (so
 * they are probed there, where nobody answers for them), half with none
 * (the attack seen: never probed, never dead).  Before admission control
 * every node held all of them, as WireGuard peers, forever.  Now:
 *   - every honest node becomes reachable at every other within a few
 *     probe rounds of the cluster converging;
 *   - the minted identities admitted anywhere are bounded by the admission
 *     rate limit: at most (nodes that heard the attacker) x LIMIT per
 *     window elapsed, and each node holds at most that many;
 *   - none of them is ever reachable (never a WireGuard peer, never
 *     persisted);
 *   - all are gone after unreachable_reap_ms (counted unreachable_reaped),
 *     and honest members, which are reachable, are all still there.
 */
#include <errno.h>

#include "gossip/crypto.h"
#include "tests/sim/simtest.h"

#define N	  16
#define ATTACKER  1
#define FAKES	  2000
#define PER_DGRAM 6
#define LIMIT	  16
#define WINDOW_MS 10000
#define REAP_MS	  120000

static uint8_t fake_ids[FAKES][GSM_ID_LEN];

static int is_fake(const uint8_t *id)
{
	for (size_t i = 0; i < FAKES; i++)
		if (!memcmp(fake_ids[i], id, GSM_ID_LEN))
			return 1;
	return 0;
}

struct count_ctx {
	size_t fakes, fakes_reachable, honest_unreachable;
};

static int count_one(void *arg, const struct gsm_swim_member *m)
{
	struct count_ctx *c = arg;

	if (is_fake(m->id)) {
		c->fakes++;
		c->fakes_reachable += m->reachable;
	} else if (!m->reachable) {
		c->honest_unreachable++;
	}
	return 0;
}

static struct count_ctx count(struct sim *s, size_t i)
{
	struct count_ctx c = {0};

	gsm_swim_foreach(sim_core(s, i), count_one, &c);
	return c;
}

/* distinct minted identities held anywhere (honest nodes); live_only:
 * only those held ALIVE or SUSPECT (not tombstones) */
static size_t fakes_anywhere(struct sim *s, int live_only)
{
	size_t n = 0;

	for (size_t f = 0; f < FAKES; f++) {
		for (size_t i = 0; i < N; i++) {
			struct gsm_swim_member m;

			if (i != ATTACKER && sim_up(s, i) &&
			    gsm_swim_get(sim_core(s, i), fake_ids[f], &m) == 0 &&
			    (!live_only || m.state <= GSM_STATE_SUSPECT)) {
				n++;
				break;
			}
		}
	}
	return n;
}

static bool all_reachable(struct sim *s, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < N; i++)
		if (count(s, i).honest_unreachable)
			return false;
	return true;
}

static int mint(size_t k, uint8_t *out, size_t cap, size_t *len)
{
	struct gsm_identity *id = NULL;
	struct gsm_advert *a = calloc(1, sizeof(*a));
	int r = -ENOMEM;

	if (!a || (r = gsm_identity_generate(&id)) < 0)
		goto out;
	memcpy(a->node_id, gsm_identity_public(id), GSM_ID_LEN);
	memcpy(fake_ids[k], a->node_id, GSM_ID_LEN);
	snprintf(a->name, sizeof(a->name), "fake-%zu", k);
	memcpy(a->wg_pubkey, a->node_id, 32);
	a->generation = 1;
	a->version = 1;
	a->wg_port = 51820;
	r = gsm_advert_sign(a, id, out, cap, len);
out:
	gsm_identity_free(id);
	free(a);
	return r;
}

static uint8_t adverts[FAKES][512];
static size_t advert_len[FAKES];

/* one datagram of PER_DGRAM minted adverts from `first` to every node */
static void flood_one(struct sim *s, size_t first)
{
	static struct gsm_msg m;

	memset(&m, 0, sizeof(m));
	m.type = GSM_MSG_GOSSIP;
	memcpy(m.sender, sim_node_id(s, ATTACKER), GSM_ID_LEN);
	m.sender_gen = sim_generation(s, ATTACKER);
	for (size_t k = first; k < first + PER_DGRAM && k < FAKES; k++) {
		m.adverts[m.n_adverts].ptr = adverts[k];
		m.adverts[m.n_adverts].len = advert_len[k];
		m.n_adverts++;
		if (k % 2) {
			struct gsm_update *u = &m.updates[m.n_updates++];

			memcpy(u->node, fake_ids[k], GSM_ID_LEN);
			u->state = GSM_STATE_ALIVE;
			u->generation = 1;
			u->addr.family = 4;
			u->addr.ip[0] = 10;
			u->addr.ip[3] = ATTACKER + 1; /* the attacker's address */
			u->addr.port = 7946;
		}
	}
	for (size_t i = 0; i < N; i++)
		if (i != ATTACKER)
			CHECK(sim_send_forged(s, ATTACKER, i, &m) == 0, "datagram %zu accepted",
			      first);
}

static void stats_sum(struct sim *s, uint64_t *limited, uint64_t *reaped)
{
	*limited = *reaped = 0;
	for (size_t i = 0; i < N; i++) {
		struct gsm_swim_stats st;

		if (i == ATTACKER)
			continue;
		gsm_swim_stats(sim_core(s, i), &st);
		*limited += st.admission_ratelimited;
		*reaped += st.unreachable_reaped;
	}
}

static void flood(struct sim *s, uint64_t t0)
{
	size_t max_fakes = 0;

	/* 2000 identities in 4 s, checked every window */
	for (size_t k = 0; k < FAKES; k += PER_DGRAM) {
		flood_one(s, k);
		sim_run_until(s, sim_now(s) + 4000 * PER_DGRAM / FAKES);
	}
	for (int w = 0; w < 6; w++) {
		uint64_t windows = (sim_now(s) - t0) / WINDOW_MS + 1;
		size_t any = fakes_anywhere(s, 0), bound = (size_t)((N - 1) * LIMIT * windows);

		for (size_t i = 0; i < N; i++) {
			struct count_ctx c = count(s, i);

			if (i == ATTACKER)
				continue;
			if (c.fakes > max_fakes)
				max_fakes = c.fakes;
			CHECK(c.fakes_reachable == 0,
			      "node %zu holds %zu minted identities reachable", i,
			      c.fakes_reachable);
			CHECK(c.honest_unreachable == 0, "node %zu: honest members unreachable", i);
		}
		printf("t=%4llus: minted identities held: %zu distinct, at most %zu per node "
		       "(bound %zu)\n",
		       (unsigned long long)((sim_now(s) - t0) / 1000), any, max_fakes, bound);
		CHECK(any <= bound, "minted identities admitted (%zu) within the rate limit (%zu)",
		      any, bound);
		sim_run_until(s, sim_now(s) + WINDOW_MS);
	}
	CHECK(max_fakes < FAKES / 4, "no node holds most of the minted identities (%zu)",
	      max_fakes);
}

int main(void)
{
	struct sim_opts o;
	struct sim *s;
	uint64_t t0, limited, reaped;
	size_t left = 0;

	gsm_crypto_init();
	for (size_t k = 0; k < FAKES; k++)
		if (mint(k, adverts[k], sizeof(adverts[k]), &advert_len[k]) < 0)
			return 1;
	sim_opts_default(&o);
	o.name = "admission";
	o.swim.unreachable_reap_ms = REAP_MS;
	o.swim.admission_per_source = LIMIT;
	o.swim.admission_window_ms = WINDOW_MS;
	s = sim_new(&o, N);
	if (!s || !simtest_bootstrap(s, N, 2000)) {
		printf("FAIL: bootstrap did not converge\n");
		return 1;
	}
	t0 = sim_now(s);
	CHECK(sim_run_until_pred(s, t0 + 10000, 100, all_reachable, NULL),
	      "every honest member reachable everywhere within 10 probe rounds");
	printf("honest members reachable everywhere %llu ms after convergence\n",
	       (unsigned long long)(sim_now(s) - t0));

	t0 = sim_now(s);
	flood(s, t0);
	stats_sum(s, &limited, &reaped);
	printf("admission_ratelimited %llu\n", (unsigned long long)limited);
	CHECK(limited > 0, "the rate limit refused adverts");

	/* past the reap time (plus a reap check and the stragglers relayed
	 * late): the minted identities without an address are gone, those
	 * probed at the attacker's address are DEAD tombstones (reaped after
	 * tombstone_ms like any); every honest member stays */
	sim_run_until(s, t0 + 2 * REAP_MS + 30000);
	stats_sum(s, &limited, &reaped);
	left = fakes_anywhere(s, 1);
	printf("after %u s: %zu minted identities left alive (%zu as tombstones), %llu reaped as "
	       "unreachable\n",
	       2 * REAP_MS / 1000 + 30, left, fakes_anywhere(s, 0), (unsigned long long)reaped);
	CHECK(left == 0, "every live minted identity reaped (%zu left)", left);
	CHECK(reaped > 0, "counted as unreachable_reaped");
	CHECK(sim_complete_views(s, false) == N, "honest views complete");
	CHECK(all_reachable(s, NULL), "honest members still reachable");
	sim_free(s);
	return simtest_failures ? 1 : 0;
}
