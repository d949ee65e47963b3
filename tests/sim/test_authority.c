/*
 * tests/sim/test_authority.c - authority mode in the membership core
 * (issue 14; gossip/swim_authority.c, docs/gossip.md "Authority mode").
 *
 *   admission   REQUIRE: nodes without a certificate, with one forged (by
 *               an unknown authority) or expired are never admitted by
 *               anyone, while the certified nodes converge;
 *   expiry      a held member's certificate expires: every node marks it
 *               EXPIRED within 2 s of the expiry (sim time);
 *   spread      a revocation injected at one node of N (default 500, env
 *               GSM_SIM_N) reaches every node; the protocol periods until
 *               the last one holds it are printed and bounded; the revoked
 *               member is REVOKED and DEAD everywhere and stays so after it
 *               restarts (new generation) with the same certificate;
 *   partition   a revocation injected on one side of a partition is
 *               learned by the other side after the heal (anti-entropy:
 *               the gossip budget is spent by then);
 *   forged      a revocation by an unknown authority is refused and not
 *               relayed; a node without authority keys takes no
 *               revocation at all (and relays none);
 *   ephemeral   an ephemeral member is forgotten 120 s after its death,
 *               a normal one is still a tombstone.
 */
#include "tests/sim/simtest.h"

#include <errno.h>

#define SIM_EPOCH_S 1767225600ull /* sim.c: wall clock = this + sim time */

static struct gsm_identity *authority(uint8_t tag)
{
	struct gsm_identity *id = NULL;
	uint8_t seed[32];

	memset(seed, tag, sizeof(seed));
	if (gsm_identity_from_seed(seed, &id) < 0)
		abort();
	return id;
}

/* A node certificate for node i of s, by `by`, valid [nb, na). */
static size_t issue(struct sim *s, size_t i, const struct gsm_identity *by, uint64_t serial,
		    uint64_t nb, uint64_t na, uint32_t flags, uint8_t *out)
{
	struct gsm_cert c;
	size_t len = 0;

	memset(&c, 0, sizeof(c));
	c.kind = GSM_CERT_NODE;
	memcpy(c.subject, sim_node_id(s, i), GSM_ID_LEN);
	memcpy(c.issuer, gsm_identity_public(by), GSM_ID_LEN);
	c.serial = serial;
	c.not_before = nb;
	c.not_after = na;
	snprintf(c.name, sizeof(c.name), "node-%zu", i);
	c.roles = GSM_ROLE_RELAY;
	c.flags = flags;
	if (gsm_cert_sign(&c, by, out, GSM_CERT_MAX, &len) < 0)
		abort();
	return len;
}

static void give_cert(struct sim *s, size_t i, const struct gsm_identity *by, uint64_t serial,
		      uint64_t nb, uint64_t na, uint32_t flags)
{
	uint8_t buf[GSM_CERT_MAX];
	struct gsm_bytes b = {buf, 0};

	b.len = issue(s, i, by, serial, nb, na, flags, buf);
	if (sim_set_certs(s, i, &b, 1) < 0)
		abort();
}

static size_t revoke_serial(const struct gsm_identity *by, uint64_t serial, uint64_t now_s,
			    uint8_t *out)
{
	struct gsm_revocation r;
	size_t len = 0;

	memset(&r, 0, sizeof(r));
	memcpy(r.issuer, gsm_identity_public(by), GSM_ID_LEN);
	r.has_serial = 1;
	r.serial = serial;
	r.issued_at = now_s;
	r.expires = now_s + 30 * 86400;
	if (gsm_revocation_sign(&r, by, out, GSM_REVOCATION_MAX, &len) < 0)
		abort();
	return len;
}

static uint64_t wall_s(struct sim *s)
{
	return sim_wall_ms(s, 0) / 1000;
}

static void set_auth_all(struct sim *s, size_t n, enum gsm_authority_mode mode,
			 const struct gsm_identity *a)
{
	uint8_t k[1][GSM_ID_LEN];

	memcpy(k[0], gsm_identity_public(a), GSM_ID_LEN);
	for (size_t i = 0; i < n; i++)
		CHECK(sim_set_authority(s, i, mode, (const uint8_t(*)[GSM_ID_LEN])k, 1) == 0,
		      "authority %zu", i);
}

static void start_all(struct sim *s, size_t n, uint64_t spread_ms)
{
	size_t seed = 0;

	CHECK(sim_start(s, 0) == 0, "start 0");
	for (size_t i = 1; i < n; i++) {
		sim_run_until(s, sim_now(s) + spread_ms / n);
		CHECK(sim_start(s, i) == 0 && sim_join(s, i, &seed, 1) == 1, "join %zu", i);
	}
}

static struct sim *new_sim(const char *name, size_t n, bool verify)
{
	struct sim_opts o;

	sim_opts_default(&o);
	o.name = name;
	o.swim.verify_signatures = verify;
	return sim_new(&o, n);
}

/* Whether node i holds node j (any state). */
static bool holds(struct sim *s, size_t i, size_t j)
{
	struct gsm_swim_member m;

	return sim_up(s, i) && gsm_swim_get(sim_core(s, i), sim_node_id(s, j), &m) == 0;
}

static int cert_of(struct sim *s, size_t i, size_t j, struct gsm_swim_member *m)
{
	return gsm_swim_get(sim_core(s, i), sim_node_id(s, j), m);
}

/* ---- (a) admission in REQUIRE mode ---- */

struct adm {
	size_t good; /* nodes [0, good) are certified */
};

static bool good_converged(struct sim *s, void *arg)
{
	struct adm *a = arg;

	for (size_t i = 0; i < a->good; i++)
		for (size_t j = 0; j < a->good; j++) {
			struct gsm_swim_member m;

			if (i == j)
				continue;
			if (cert_of(s, i, j, &m) || m.state != GSM_STATE_ALIVE ||
			    m.cert_status != GSM_CERT_VALID)
				return false;
		}
	return true;
}

static void test_admission(void)
{
	const size_t n = 24, good = 21;
	struct gsm_identity *a = authority(0xa1), *rogue = authority(0xb2);
	struct sim *s = new_sim("authority admission", n, true);
	uint64_t now = SIM_EPOCH_S, refused = 0;
	struct adm arg = {good};
	bool ok;

	set_auth_all(s, n, GSM_AUTHORITY_REQUIRE, a);
	for (size_t i = 0; i < good; i++)
		give_cert(s, i, a, 1000 + i, now - 60, now + 86400, 0);
	/* node 21: no certificate; 22: forged (unknown authority); 23: expired */
	give_cert(s, 22, rogue, 2222, now - 60, now + 86400, 0);
	give_cert(s, 23, a, 2323, now - 7200, now - 3600, 0);
	start_all(s, n, 5000);
	ok = sim_run_until_pred(s, sim_now(s) + 60000, 500, good_converged, &arg);
	CHECK(ok, "the certified nodes converge");
	sim_run_until(s, sim_now(s) + 30000);
	for (size_t i = 0; i < n; i++) {
		struct gsm_swim_stats st;

		for (size_t j = good; j < n; j++)
			CHECK(i == j || !holds(s, i, j), "node %zu admitted uncertified node %zu",
			      i, j);
		gsm_swim_stats(sim_core(s, i), &st);
		refused += st.certs_refused;
	}
	{
		struct gsm_swim_member self;

		CHECK(cert_of(s, 0, 0, &self) == 0 && self.cert_status == GSM_CERT_VALID,
		      "own status valid");
		CHECK(cert_of(s, 23, 23, &self) == 0 && self.cert_status == GSM_CERT_EXPIRED,
		      "own status expired");
	}
	printf("admission: %zu certified converged; 3 uncertified admitted nowhere; %llu adverts "
	       "refused\n",
	       good, (unsigned long long)refused);
	CHECK(refused > 0, "refusals counted");
	sim_free(s);
	gsm_identity_free(a);
	gsm_identity_free(rogue);
}

/* ---- (b) expiry while held ---- */

struct expiry {
	const uint8_t *id;
	uint64_t *at; /* per node: sim time + 1 of the EXPIRED event */
};

static void expiry_hook(void *arg, size_t node, const struct gsm_swim_event *ev)
{
	struct expiry *e = arg;

	if (ev->type == GSM_SWIM_EV_CERT && ev->member &&
	    !memcmp(ev->member->id, e->id, GSM_ID_LEN) &&
	    ev->member->cert_status == GSM_CERT_EXPIRED && !e->at[node])
		e->at[node] = 1;
}

static void test_expiry(void)
{
	const size_t n = 16, victim = 5;
	struct gsm_identity *a = authority(0xa1);
	struct sim *s = new_sim("authority expiry", n, true);
	uint64_t now = SIM_EPOCH_S, na = now + 90, worst = 0;
	struct expiry e;
	size_t marked = 0;

	set_auth_all(s, n, GSM_AUTHORITY_REQUIRE, a);
	for (size_t i = 0; i < n; i++)
		give_cert(s, i, a, 500 + i, now - 60, i == victim ? na : now + 86400, 0);
	start_all(s, n, 3000);
	CHECK(sim_run_until_pred(s, 60000, 500, simtest_all_complete, NULL), "converged");
	e.id = sim_node_id(s, victim);
	e.at = calloc(n, sizeof(*e.at));
	sim_set_event_hook(s, expiry_hook, &e);
	while (sim_now(s) < (na - SIM_EPOCH_S) * 1000 + 5000) {
		sim_run_until(s, sim_now(s) + 10);
		for (size_t i = 0; i < n; i++)
			if (e.at[i] == 1)
				e.at[i] = sim_now(s) + 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct gsm_swim_member m;
		uint64_t t;

		CHECK(cert_of(s, i, victim, &m) == 0 && m.cert_status == GSM_CERT_EXPIRED,
		      "node %zu holds the victim EXPIRED", i);
		if (!e.at[i])
			continue;
		marked++;
		t = e.at[i] - 1;
		CHECK(t >= (na - SIM_EPOCH_S) * 1000, "node %zu marked it before expiry", i);
		if (t - (na - SIM_EPOCH_S) * 1000 > worst)
			worst = t - (na - SIM_EPOCH_S) * 1000;
	}
	printf("expiry: %zu of %zu nodes marked the certificate EXPIRED, at most %llu ms after "
	       "not_after\n",
	       marked, n, (unsigned long long)worst);
	CHECK(marked == n, "every node (the victim too) marked it");
	CHECK(worst <= 2000, "within 2 s");
	sim_set_event_hook(s, NULL, NULL);
	free(e.at);
	sim_free(s);
	gsm_identity_free(a);
}

/* ---- (c) a revocation spreads to N nodes ---- */

struct spread {
	uint64_t *at; /* per node: sim time + 1 of the REVOCATION event */
	size_t got;
};

static void spread_hook(void *arg, size_t node, const struct gsm_swim_event *ev)
{
	struct spread *sp = arg;

	if (ev->type == GSM_SWIM_EV_REVOCATION && !sp->at[node]) {
		sp->at[node] = 1;
		sp->got++;
	}
}

static bool all_revoked(struct sim *s, size_t n, size_t victim, uint64_t gen)
{
	for (size_t i = 0; i < n; i++) {
		struct gsm_swim_member m;

		if (i == victim || !sim_up(s, i))
			continue;
		if (cert_of(s, i, victim, &m) || m.state != GSM_STATE_DEAD ||
		    m.cert_status != GSM_CERT_REVOKED || m.generation != gen)
			return false;
	}
	return true;
}

static bool spread_done(struct sim *s, void *arg)
{
	struct spread *sp = arg;

	return sp->got >= simtest_up_count(s);
}

static void test_spread(size_t n)
{
	const size_t victim = 7 % n;
	struct gsm_identity *a = authority(0xa1);
	struct sim *s = new_sim("authority spread", n, false);
	uint64_t now = SIM_EPOCH_S, t0, last = 0, iv = 1000, gen;
	uint8_t rev[GSM_REVOCATION_MAX];
	size_t rlen;
	struct spread sp = {0};
	struct sim_totals before, after;

	/* WARN: only the victim holds a certificate (N chain checks, not N^2) */
	set_auth_all(s, n, GSM_AUTHORITY_WARN, a);
	give_cert(s, victim, a, 777, now - 60, now + 86400, 0);
	start_all(s, n, 10000);
	CHECK(sim_run_until_pred(s, sim_now(s) + 90000, 500, simtest_all_complete, NULL),
	      "converged");
	sim_run_until(s, sim_now(s) + 5000);
	gen = sim_generation(s, victim);
	sp.at = calloc(n, sizeof(*sp.at));
	sim_set_event_hook(s, spread_hook, &sp);
	sim_totals(s, &before);
	rlen = revoke_serial(a, 777, wall_s(s), rev);
	t0 = sim_now(s);
	CHECK(gsm_swim_add_revocation(sim_core(s, 0), rev, rlen) == 0, "injected");
	CHECK(gsm_swim_add_revocation(sim_core(s, 0), rev, rlen) == -EEXIST, "held already");
	while (!spread_done(s, &sp) && sim_now(s) < t0 + 60000) {
		sim_run_until(s, sim_now(s) + 20);
		for (size_t i = 0; i < n; i++)
			if (sp.at[i] == 1)
				sp.at[i] = sim_now(s) + 1;
	}
	for (size_t i = 0; i < n; i++)
		if (sp.at[i] > 1 && sp.at[i] - 1 > last)
			last = sp.at[i] - 1;
	sim_totals(s, &after);
	printf("spread N=%zu: revocation (%zu B) held by %zu nodes; last after %llu ms = %llu "
	       "rounds (probe interval %llu ms); %llu datagrams, %llu bytes meanwhile\n",
	       n, rlen, sp.got, (unsigned long long)(last - t0),
	       (unsigned long long)((last - t0 + iv - 1) / iv), (unsigned long long)iv,
	       (unsigned long long)(after.dgrams - before.dgrams),
	       (unsigned long long)(after.bytes - before.bytes));
	CHECK(sp.got == n, "every node holds it");
	CHECK((last - t0 + iv - 1) / iv <= 11, "within 11 rounds");
	CHECK(all_revoked(s, n, victim, gen), "the victim is REVOKED and DEAD everywhere");
	/* it restarts with the same certificate: a new generation, refused */
	sim_crash(s, victim);
	sim_run_until(s, sim_now(s) + 2000);
	CHECK(sim_start(s, victim) == 0 && sim_join(s, victim, (size_t[]){0}, 1) == 1, "restart");
	sim_run_until(s, sim_now(s) + 30000);
	CHECK(all_revoked(s, n, victim, gen), "still REVOKED and DEAD after its restart");
	{
		struct gsm_swim_member self;

		CHECK(cert_of(s, victim, victim, &self) == 0 &&
			  self.cert_status == GSM_CERT_REVOKED,
		      "the restarted victim learned its own revocation (sync)");
	}
	sim_set_event_hook(s, NULL, NULL);
	free(sp.at);
	sim_free(s);
	gsm_identity_free(a);
}

/* ---- (d) partition ---- */

static size_t rev_holders(struct sim *s, size_t from, size_t to)
{
	size_t k = 0;

	for (size_t i = from; i < to; i++)
		k += sim_up(s, i) && gsm_swim_revocation_count(sim_core(s, i)) == 1;
	return k;
}

static bool all_hold_rev(struct sim *s, void *arg)
{
	return rev_holders(s, 0, sim_size(s)) == sim_size(s);
}

static void test_partition(void)
{
	const size_t n = 32, half = 16, victim = 20;
	struct gsm_identity *a = authority(0xa1);
	struct sim *s = new_sim("authority partition", n, true);
	uint64_t now = SIM_EPOCH_S, t_heal;
	uint8_t rev[GSM_REVOCATION_MAX];
	size_t rlen;
	bool ok;

	set_auth_all(s, n, GSM_AUTHORITY_WARN, a);
	give_cert(s, victim, a, 4242, now - 60, now + 86400, 0);
	start_all(s, n, 3000);
	CHECK(sim_run_until_pred(s, 60000, 500, simtest_all_complete, NULL), "converged");
	for (size_t i = 0; i < n; i++)
		sim_set_group(s, i, i < half ? 0 : 1);
	sim_block(s, 0, 1, true);
	sim_block(s, 1, 0, true);
	rlen = revoke_serial(a, 4242, wall_s(s), rev);
	CHECK(gsm_swim_add_revocation(sim_core(s, 0), rev, rlen) == 0, "injected");
	sim_run_until(s, sim_now(s) + 60000);
	CHECK(rev_holders(s, 0, half) == half, "side A holds it");
	CHECK(rev_holders(s, half, n) == 0, "side B does not");
	sim_block(s, 0, 1, false);
	sim_block(s, 1, 0, false);
	t_heal = sim_now(s);
	ok = sim_run_until_pred(s, t_heal + 180000, 500, all_hold_rev, NULL);
	printf("partition: side B learned the revocation %llu ms after the heal\n",
	       (unsigned long long)(sim_now(s) - t_heal));
	CHECK(ok, "every node holds it after the heal");
	sim_run_until(s, sim_now(s) + 5000);
	for (size_t i = 0; i < n; i++) {
		struct gsm_swim_member m;

		if (i != victim)
			CHECK(cert_of(s, i, victim, &m) == 0 && m.cert_status == GSM_CERT_REVOKED &&
				  m.state == GSM_STATE_DEAD,
			      "node %zu holds the victim revoked", i);
	}
	sim_free(s);
	gsm_identity_free(a);
}

/* ---- (e) forged revocations ---- */

static int send_rev(struct sim *s, size_t from, size_t to, const uint8_t *rev, size_t len)
{
	struct gsm_msg *m = calloc(1, sizeof(*m));
	int r;

	gsm_msg_init(m, GSM_MSG_GOSSIP);
	memcpy(m->sender, sim_node_id(s, from), GSM_ID_LEN);
	m->revocations[0].ptr = rev;
	m->revocations[0].len = len;
	m->n_revocations = 1;
	r = sim_send_forged_tagged(s, from, to, m);
	free(m);
	return r;
}

static void test_forged(void)
{
	const size_t n = 12, victim = 4, nokeys = 3;
	struct gsm_identity *a = authority(0xa1), *rogue = authority(0xb2);
	struct sim *s = new_sim("authority forged", n, true);
	uint64_t now = SIM_EPOCH_S, refused = 0, held = 0;
	uint8_t bad[GSM_REVOCATION_MAX], good[GSM_REVOCATION_MAX];
	size_t blen, glen;

	set_auth_all(s, n, GSM_AUTHORITY_WARN, a);
	sim_set_authority(s, nokeys, GSM_AUTHORITY_OFF, NULL, 0);
	give_cert(s, victim, a, 99, now - 60, now + 86400, 0);
	start_all(s, n, 2000);
	CHECK(sim_run_until_pred(s, 60000, 500, simtest_all_complete, NULL), "converged");
	blen = revoke_serial(rogue, 99, wall_s(s), bad);
	glen = revoke_serial(a, 99, wall_s(s), good);
	CHECK(gsm_swim_add_revocation(sim_core(s, 0), bad, blen) == -EKEYREJECTED,
	      "API refuses an unknown authority");
	CHECK(gsm_swim_add_revocation(sim_core(s, nokeys), good, glen) == -EKEYREJECTED,
	      "API: no authority keys, nothing accepted");
	CHECK(send_rev(s, 1, 0, bad, blen) == 0, "forged sent");
	CHECK(send_rev(s, 1, nokeys, good, glen) == 0, "genuine sent to the node without keys");
	sim_run_until(s, sim_now(s) + 20000);
	for (size_t i = 0; i < n; i++) {
		struct gsm_swim_stats st;
		struct gsm_swim_member m;

		gsm_swim_stats(sim_core(s, i), &st);
		refused += st.revocations_refused;
		held += gsm_swim_revocation_count(sim_core(s, i));
		CHECK(i == victim ||
			  (cert_of(s, i, victim, &m) == 0 && m.state == GSM_STATE_ALIVE &&
			   m.cert_status != GSM_CERT_REVOKED),
		      "node %zu: victim not revoked", i);
	}
	printf("forged: %llu refused (expected 1, at the receiver only), %llu held\n",
	       (unsigned long long)refused, (unsigned long long)held);
	CHECK(refused == 1, "refused once: never relayed");
	CHECK(held == 0, "held by nobody (the keyless node neither took nor relayed one)");
	sim_free(s);
	gsm_identity_free(a);
	gsm_identity_free(rogue);
}

/* ---- (f) ephemeral members ---- */

struct eph {
	const uint8_t *id;
	uint64_t *dead, *removed; /* per node: sim time + 1 */
};

static void eph_hook(void *arg, size_t node, const struct gsm_swim_event *ev)
{
	struct eph *e = arg;
	uint64_t *slot = NULL;

	if (!ev->member || memcmp(ev->member->id, e->id, GSM_ID_LEN))
		return;
	if (ev->type == GSM_SWIM_EV_DEAD)
		slot = &e->dead[node];
	else if (ev->type == GSM_SWIM_EV_REMOVED)
		slot = &e->removed[node];
	if (slot && !*slot)
		*slot = 1;
}

static void stamp_all(struct sim *s, uint64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == 1)
			v[i] = sim_now(s) + 1;
}

static void test_ephemeral(void)
{
	const size_t n = 10, eph = 8, normal = 9;
	struct gsm_identity *a = authority(0xa1);
	struct sim *s = new_sim("authority ephemeral", n, true);
	uint64_t now = SIM_EPOCH_S, t_crash, lo = UINT64_MAX, hi = 0;
	struct eph e;

	set_auth_all(s, n, GSM_AUTHORITY_REQUIRE, a);
	for (size_t i = 0; i < n; i++)
		give_cert(s, i, a, 300 + i, now - 60, now + 86400,
			  i == eph ? GSM_CERT_F_EPHEMERAL : 0);
	start_all(s, n, 2000);
	CHECK(sim_run_until_pred(s, 60000, 500, simtest_all_complete, NULL), "converged");
	e.id = sim_node_id(s, eph);
	e.dead = calloc(n, sizeof(*e.dead));
	e.removed = calloc(n, sizeof(*e.removed));
	sim_set_event_hook(s, eph_hook, &e);
	sim_crash(s, eph);
	sim_crash(s, normal);
	t_crash = sim_now(s);
	while (sim_now(s) < t_crash + 200000) {
		sim_run_until(s, sim_now(s) + 100);
		stamp_all(s, e.dead, n);
		stamp_all(s, e.removed, n);
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t kept;

		if (!sim_up(s, i))
			continue;
		CHECK(!holds(s, i, eph), "node %zu forgot the ephemeral member", i);
		CHECK(holds(s, i, normal) && sim_state_of(s, i, normal) == GSM_STATE_DEAD,
		      "node %zu keeps the normal tombstone", i);
		CHECK(e.dead[i] && e.removed[i], "node %zu: dead, then removed", i);
		if (!e.dead[i] || !e.removed[i])
			continue;
		kept = e.removed[i] - e.dead[i];
		lo = kept < lo ? kept : lo;
		hi = kept > hi ? kept : hi;
	}
	printf("ephemeral: forgotten %llu..%llu ms after its death (normal member still a "
	       "tombstone)\n",
	       (unsigned long long)lo, (unsigned long long)hi);
	CHECK(lo >= 120000 && hi <= 120000 + 10000 + 100, "120 s (+ the 10 s reap check)");
	sim_set_event_hook(s, NULL, NULL);
	free(e.dead);
	free(e.removed);
	sim_free(s);
	gsm_identity_free(a);
}

int main(void)
{
	if (gsm_crypto_init() < 0)
		return 1;
	test_admission();
	test_expiry();
	test_forged();
	test_ephemeral();
	test_partition();
	/* 500: ~15 s under the default build (1000 takes ~100 s, mostly the
	 * bootstrap; bench_sim --revocation measures 1000) */
	test_spread(simtest_env_n(500));
	printf("%s\n", simtest_failures ? "FAILED" : "ok");
	return simtest_failures ? 1 : 0;
}
