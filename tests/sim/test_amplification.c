/*
 * tests/sim/test_amplification.c - a cluster-key holder using members as
 * amplifiers, and a joiner behind NAT that must not pay for the defence.
 *
 * Attack: every request type with worst-case contents is sent
 * (sim_send_forged) to one victim node of a converged N = 64 cluster whose
 * members have large adverts (about 2.8 KB), and the bytes the victim sends
 * in response (its bytes_sent counter, read right before and after the
 * delivery: the simulator runs no other event meanwhile; sealed datagrams,
 * envelope included) are compared with the request's sealed size.  The
 * bounds asserted are the ones in docs/protocol.md, "Amplification":
 *   - to an address the sender has not proven (unknown sender, a member's
 *     id from another member's address): reply <= 3 x request;
 *   - to a member at its verified address: reply <= 3 x request + its
 *     token bucket (1 MiB at most), an advert request's duplicated ids are
 *     answered once, and a digest request gets a full page (more than 3 x:
 *     verification works);
 *   - a ping-req is served only for a live member, at the address held for
 *     it: nothing goes to the ping-req's target_addr.
 * Old code: x16 for a digest request, x51 and more for an advert request
 * with duplicated ids, ping-reqs to any address.
 *
 * NAT: a joiner whose held gossip address (its LAN address: nothing reaches
 * it there) is not the address its datagrams come from, as behind NAT
 * before detection, joins through the same seed as a plain joiner; its view
 * must be complete within 100 ms (a few round trips) of the plain joiner's
 * (the seed's first answers to it are capped until its challenge is
 * answered; the joiner's second sync pass picks up what was cut).
 */
#include "tests/sim/simtest.h"

#include "gossip/wire.h"

#define N	 64
#define ATTACKER 1
#define VICTIM	 10
#define THIRD	 20
#define TARGET	 30
#define PLAIN	 N /* joiners, not bootstrapped */
#define NATED	 (N + 1)
#define DUPS	 1000

static struct gsm_msg msg;

static uint64_t sent_bytes(struct sim *s, size_t i)
{
	struct gsm_swim_stats st;

	gsm_swim_stats(sim_core(s, i), &st);
	return st.bytes_sent;
}

/* Deliver msg to the victim from the attacker's address; stores the
 * request's and the reply's sealed bytes. */
static void probe(struct sim *s, const char *what, uint64_t *req, uint64_t *rep)
{
	uint64_t b0 = sent_bytes(s, VICTIM);

	*req = gsm_msg_encoded_size(&msg) + GSM_ENVELOPE_OVERHEAD;
	/* the attacker is a member: what it sends in its own name is
	 * pair-tagged (attributed), like any member's datagram */
	if (!memcmp(msg.sender, sim_node_id(s, ATTACKER), GSM_ID_LEN))
		CHECK(sim_send_forged_tagged(s, ATTACKER, VICTIM, &msg) == 0, "%s: delivered",
		      what);
	else
		CHECK(sim_send_forged(s, ATTACKER, VICTIM, &msg) == 0, "%s: delivered", what);
	*rep = sent_bytes(s, VICTIM) - b0;
	printf("%-46s request %6llu B  reply %7llu B  ratio %6.2f\n", what,
	       (unsigned long long)*req, (unsigned long long)*rep, (double)*rep / (double)*req);
}

static void base(uint8_t type, const uint8_t *sender)
{
	memset(&msg, 0, sizeof(msg));
	msg.type = type;
	memcpy(msg.sender, sender, GSM_ID_LEN);
	msg.seq = 7;
}

/* 3 x, plus the member's token bucket (at most 1 MiB) */
static void verified_bound(uint64_t req, uint64_t rep, const char *what)
{
	CHECK(rep <= 3 * req + 1048576, "%s: %llu > bound for %llu", what, (unsigned long long)rep,
	      (unsigned long long)req);
}

static void unverified_bound(uint64_t req, uint64_t rep, const char *what)
{
	CHECK(rep <= 3 * req, "%s: %llu > 3 x %llu", what, (unsigned long long)rep,
	      (unsigned long long)req);
}

static void list_ids(struct sim *s, size_t count, size_t only)
{
	for (size_t k = 0; k < count; k++)
		memcpy(msg.digest[msg.n_digest++].node, sim_node_id(s, only < N ? only : k % N),
		       GSM_ID_LEN);
}

static void advert_requests(struct sim *s, const uint8_t *stranger)
{
	uint64_t req, rep;

	base(GSM_MSG_SYNC_REQUEST, sim_node_id(s, 2)); /* spoofed: 2's id, 1's address */
	list_ids(s, DUPS, N);
	probe(s, "advert request, 1000 ids, spoofed source", &req, &rep);
	unverified_bound(req, rep, "spoofed advert request");

	base(GSM_MSG_SYNC_REQUEST, stranger);
	list_ids(s, N, N);
	probe(s, "advert request, all ids, unknown sender", &req, &rep);
	unverified_bound(req, rep, "unknown advert request");

	base(GSM_MSG_SYNC_REQUEST, sim_node_id(s, 2));
	list_ids(s, 1, 5);
	probe(s, "advert request, 1 id, spoofed source", &req, &rep);
	unverified_bound(req, rep, "spoofed one-id request");

	base(GSM_MSG_SYNC_REQUEST, sim_node_id(s, ATTACKER));
	list_ids(s, DUPS, 5);
	probe(s, "advert request, 1 id x1000, verified", &req, &rep);
	verified_bound(req, rep, "dup ids");
	CHECK(rep < 2 * GSM_MAX_ADVERT, "duplicates answered once (%llu)", (unsigned long long)rep);

	base(GSM_MSG_SYNC_REQUEST, sim_node_id(s, ATTACKER));
	list_ids(s, N, N);
	probe(s, "advert request, all ids, verified", &req, &rep);
	verified_bound(req, rep, "all ids");
	CHECK(rep <= N * (uint64_t)(GSM_MAX_ADVERT + 256), "one advert per id (%llu)",
	      (unsigned long long)rep);

	base(GSM_MSG_SYNC_REQUEST, sim_node_id(s, ATTACKER));
	list_ids(s, 1, 5);
	probe(s, "advert request, 1 id, verified", &req, &rep);
	verified_bound(req, rep, "one id");
}

static void digest_requests(struct sim *s, const uint8_t *stranger)
{
	uint64_t req, rep;

	base(GSM_MSG_SYNC_REQUEST, stranger);
	msg.flags = GSM_MF_REPLY;
	probe(s, "digest request, unknown sender", &req, &rep);
	unverified_bound(req, rep, "unknown digest request");

	base(GSM_MSG_SYNC_REQUEST, sim_node_id(s, 2));
	msg.flags = GSM_MF_REPLY;
	probe(s, "digest request, spoofed source", &req, &rep);
	unverified_bound(req, rep, "spoofed digest request");

	base(GSM_MSG_SYNC_REQUEST, sim_node_id(s, ATTACKER));
	msg.flags = GSM_MF_REPLY;
	probe(s, "digest request, verified", &req, &rep);
	verified_bound(req, rep, "digest request");
	CHECK(rep > 3 * req, "a verified member gets a full page (%llu for %llu)",
	      (unsigned long long)rep, (unsigned long long)req);
}

static void pings(struct sim *s, const uint8_t *stranger)
{
	struct gsm_swim_member third;
	uint64_t req, rep, to_third, to_target;

	base(GSM_MSG_PING, sim_node_id(s, ATTACKER));
	probe(s, "ping, verified", &req, &rep);
	verified_bound(req, rep, "ping");

	base(GSM_MSG_PING, stranger);
	probe(s, "ping, unknown sender", &req, &rep);
	unverified_bound(req, rep, "unknown ping");

	CHECK(gsm_swim_get(sim_core(s, VICTIM), sim_node_id(s, THIRD), &third) == 0, "third");
	base(GSM_MSG_PING_REQ, sim_node_id(s, ATTACKER));
	msg.has_target = 1;
	memcpy(msg.target, stranger, GSM_ID_LEN);
	msg.target_addr = third.addr;
	to_third = sim_pending_bytes_to(s, THIRD);
	probe(s, "ping-req, unknown target, third party addr", &req, &rep);
	CHECK(rep == 0, "ping-req for an unknown target not served (%llu)",
	      (unsigned long long)rep);
	CHECK(sim_pending_bytes_to(s, THIRD) == to_third, "nothing to the third party");

	base(GSM_MSG_PING_REQ, sim_node_id(s, ATTACKER));
	msg.has_target = 1;
	memcpy(msg.target, sim_node_id(s, TARGET), GSM_ID_LEN);
	msg.target_addr = third.addr;
	to_third = sim_pending_bytes_to(s, THIRD);
	to_target = sim_pending_bytes_to(s, TARGET);
	probe(s, "ping-req, member, third party addr", &req, &rep);
	verified_bound(req, rep, "ping-req");
	CHECK(sim_pending_bytes_to(s, THIRD) == to_third, "nothing sent to target_addr");
	CHECK(sim_pending_bytes_to(s, TARGET) > to_target, "the ping went to the held address");

	base(GSM_MSG_PING_REQ, stranger);
	msg.has_target = 1;
	memcpy(msg.target, sim_node_id(s, TARGET), GSM_ID_LEN);
	probe(s, "ping-req, member, unknown sender", &req, &rep);
	unverified_bound(req, rep, "unknown ping-req");
}

static void gossip(struct sim *s, const uint8_t *stranger)
{
	uint64_t req, rep;

	base(GSM_MSG_GOSSIP, stranger);
	for (size_t k = 0; k < GSM_MAX_UPDATES; k++) {
		struct gsm_update *u = &msg.updates[msg.n_updates++];

		memset(u->node, (int)k + 1, GSM_ID_LEN);
		u->state = GSM_STATE_ALIVE;
		u->generation = 1;
	}
	probe(s, "gossip, 128 unknown ids, unknown sender", &req, &rep);
	unverified_bound(req, rep, "unknown gossip");

	base(GSM_MSG_GOSSIP, sim_node_id(s, 2));
	msg.sender_gen = sim_generation(s, 2);
	for (size_t k = 0; k < GSM_MAX_UPDATES; k++) {
		struct gsm_update *u = &msg.updates[msg.n_updates++];

		memset(u->node, (int)k + 0x40, GSM_ID_LEN);
		u->state = GSM_STATE_ALIVE;
		u->generation = 1;
	}
	probe(s, "gossip, 128 unknown ids, spoofed source", &req, &rep);
	unverified_bound(req, rep, "spoofed gossip");
}

/* The attacker's address becomes verified the honest way: its real core
 * answers the challenge its (forged) sync request draws. */
static void verify_attacker(struct sim *s)
{
	uint64_t req, rep;

	base(GSM_MSG_SYNC_REQUEST, sim_node_id(s, ATTACKER));
	msg.flags = GSM_MF_REPLY;
	sim_run_until(s, sim_now(s) + 1500); /* past the challenge rate limit */
	probe(s, "digest request, member (verify)", &req, &rep);
	sim_run_until(s, sim_now(s) + 200);
}

static bool view_full(struct sim *s, void *arg)
{
	size_t i = *(size_t *)arg;

	for (size_t k = 0; k < N; k++)
		if (sim_state_of(s, i, k) != GSM_STATE_ALIVE)
			return false;
	return true;
}

/* ms from the join until node i holds every bootstrapped node ALIVE */
static uint64_t join_time(struct sim *s, size_t i, bool nated)
{
	size_t seed = 0;
	uint64_t t0;

	if (sim_start(s, i) < 0)
		return UINT64_MAX;
	if (nated) {
		struct gsm_addr lan = {.family = 4, .ip = {192, 168, 77, 2}, .port = 7946};

		gsm_swim_set_addr(sim_core(s, i), &lan); /* reaches nobody */
	}
	t0 = sim_now(s);
	if (sim_join(s, i, &seed, 1) != 1 || !sim_run_until_pred(s, t0 + 30000, 10, view_full, &i))
		return UINT64_MAX;
	return sim_now(s) - t0;
}

int main(void)
{
	struct sim_opts o;
	struct sim *s;
	uint8_t stranger[GSM_ID_LEN];
	uint64_t t_plain, t_nat;

	sim_opts_default(&o);
	o.name = "amplification";
	s = sim_new(&o, N + 2);
	for (size_t i = 0; i < N + 2; i++)
		sim_set_big_advert(s, i, true);
	if (!simtest_bootstrap(s, N, 2000)) {
		printf("FAIL: no convergence\n");
		return 1;
	}
	sim_run_until(s, sim_now(s) + 5000);
	memset(stranger, 0xee, sizeof(stranger));
	verify_attacker(s);
	advert_requests(s, stranger);
	digest_requests(s, stranger);
	pings(s, stranger);
	gossip(s, stranger);

	sim_run_until(s, sim_now(s) + 2000);
	t_plain = join_time(s, PLAIN, false);
	t_nat = join_time(s, NATED, true);
	printf("join, full view of %d nodes: plain %llu ms, behind NAT %llu ms\n", N,
	       (unsigned long long)t_plain, (unsigned long long)t_nat);
	CHECK(t_plain < 30000 && t_nat < 30000, "both joiners complete their view");
	CHECK(t_nat <= t_plain + 100, "NAT costs at most a few round trips (%llu vs %llu ms)",
	      (unsigned long long)t_nat, (unsigned long long)t_plain);
	sim_free(s);
	printf("%s\n", simtest_failures ? "FAILED" : "ok");
	return simtest_failures ? 1 : 0;
}
