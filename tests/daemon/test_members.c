/* tests/daemon/test_members.c - the member cache (daemon/members.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/members.h"
#include "gossip/crypto.h"
#include "gossip/swim.h"
#include "tests/unit/fixtures.h"

/* a signed advert of identity `tag` */
struct signed_adv {
	uint8_t id[GSM_ID_LEN];
	uint8_t buf[GSM_MAX_ADVERT];
	size_t len;
	uint64_t generation, version;
};

static struct gsm_identity *ident(uint32_t tag)
{
	return fx_identity(tag);
}

/* typical advert for identity tag, with the WireGuard key of keytag, at
 * (generation, version), named n<tag> */
static void sign(uint32_t tag, uint32_t keytag, uint64_t gen, uint64_t ver, struct signed_adv *out)
{
	struct gsm_identity *id = ident(tag);
	struct gsm_advert *a = calloc(1, sizeof(*a));
	assert_non_null(a);
	fx_advert_typical(a, gsm_identity_public(id));
	fx_bytes(a->wg_pubkey, GSM_WGKEY_LEN, keytag);
	snprintf(a->name, sizeof(a->name), "n%u", tag);
	a->generation = gen;
	a->version = ver;
	assert_int_equal(gsm_advert_sign(a, id, out->buf, sizeof(out->buf), &out->len), 0);
	memcpy(out->id, gsm_identity_public(id), GSM_ID_LEN);
	out->generation = gen;
	out->version = ver;
	free(a);
	gsm_identity_free(id);
}

static void view_of(const struct signed_adv *s, uint8_t state, struct gsm_swim_member *v)
{
	memset(v, 0, sizeof(*v));
	memcpy(v->id, s->id, GSM_ID_LEN);
	v->state = state;
	v->generation = s->generation;
	v->incarnation = 3;
	v->version = s->version;
	v->advert_generation = s->generation;
	v->advert = s->buf;
	v->advert_len = s->len;
	v->state_changed_ms = 1000;
	v->addr.family = 4;
	v->addr.ip[0] = 192;
	v->addr.ip[3] = 7;
	v->addr.port = 7946;
}

static void test_insert_refresh_remove(void **st)
{
	(void)st;
	struct gsd_memcache *mc = gsd_memcache_new();
	assert_non_null(mc);
	struct signed_adv s;
	struct gsm_swim_member v;
	sign(1, 101, 5, 1, &s);
	view_of(&s, GSM_STATE_ALIVE, &v);
	assert_int_equal(gsd_memcache_update(mc, &v), 0);
	assert_int_equal(gsd_memcache_count(mc), 1);
	const struct gsd_member *m = gsd_memcache_find(mc, s.id);
	assert_non_null(m);
	assert_true(m->has_advert);
	assert_false(m->is_self);
	assert_string_equal(m->name, "n1");
	assert_int_equal(m->adv_generation, 5);
	assert_int_equal(m->adv_version, 1);
	assert_int_equal(m->incarnation, 3);
	assert_int_equal(m->state_since_ms, 1000);
	assert_int_equal(m->wg_port, 51820);
	assert_int_equal(m->gossip_port, 7946);
	assert_int_equal(m->flags, GSM_ADV_RELAY | GSM_ADV_PUBLIC);
	assert_true(gsm_addr_equal(&m->gossip_addr, &v.addr));
	uint8_t key[GSM_WGKEY_LEN];
	fx_bytes(key, sizeof(key), 101);
	assert_memory_equal(m->wg_pubkey, key, GSM_WGKEY_LEN);
	/* the lists, as decoded from the signed bytes (labels sorted) */
	struct gsm_advert *want = calloc(1, sizeof(*want));
	assert_non_null(want);
	assert_int_equal(gsm_advert_decode(s.buf, s.len, want), 0);
	assert_int_equal(m->n_endpoints, want->n_endpoints);
	assert_memory_equal(m->endpoints, want->endpoints,
			    want->n_endpoints * sizeof(struct gsm_endpoint));
	assert_int_equal(m->n_overlay, 2);
	assert_memory_equal(m->overlay, want->overlay, 2 * sizeof(struct gsm_prefix));
	assert_int_equal(m->n_prefixes, 2);
	assert_memory_equal(m->prefixes, want->prefixes, 2 * sizeof(struct gsm_prefix));
	assert_int_equal(m->n_labels, 3);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(m->labels[i].key, want->labels[i].key);
		assert_string_equal(m->labels[i].value, want->labels[i].value);
	}
	assert_string_equal(m->labels[0].key, "env");
	assert_true(m->has_relay_via);
	assert_memory_equal(m->relay_via, want->relay_via, GSM_ID_LEN);
	free(want);

	/* a state change refreshes the membership fields only */
	v.state = GSM_STATE_SUSPECT;
	v.state_changed_ms = 2000;
	assert_int_equal(gsd_memcache_update(mc, &v), 0);
	m = gsd_memcache_find(mc, s.id);
	assert_int_equal(m->state, GSM_STATE_SUSPECT);
	assert_int_equal(m->state_since_ms, 2000);
	assert_int_equal(gsd_memcache_count(mc), 1);

	gsd_memcache_remove(mc, s.id);
	assert_int_equal(gsd_memcache_count(mc), 0);
	assert_null(gsd_memcache_find(mc, s.id));
	assert_null(gsd_memcache_find_wgkey(mc, key, NULL));
	gsd_memcache_remove(mc, s.id); /* unknown: ignored */
	gsd_memcache_free(mc);
	gsd_memcache_free(NULL);
}

static void test_decode_once_per_version(void **st)
{
	(void)st;
	struct gsd_memcache *mc = gsd_memcache_new();
	struct signed_adv s1, s2, s3;
	struct gsm_swim_member v;
	sign(2, 102, 5, 1, &s1);
	sign(2, 202, 5, 2, &s2); /* new version: another WireGuard key */
	sign(2, 202, 6, 1, &s3); /* new generation */
	view_of(&s1, GSM_STATE_ALIVE, &v);
	assert_int_equal(gsd_memcache_update(mc, &v), 0);
	assert_int_equal(gsd_memcache_decodes(mc), 1);
	const struct gsd_member *m = gsd_memcache_find(mc, s1.id);
	const struct gsm_endpoint *ep = m->endpoints;
	size_t bytes = gsd_memcache_bytes(mc);
	for (int i = 0; i < 5; i++) {
		v.state = (uint8_t)(i % 2 ? GSM_STATE_DEAD : GSM_STATE_ALIVE);
		v.incarnation = (uint64_t)i;
		assert_int_equal(gsd_memcache_update(mc, &v), 0);
	}
	assert_int_equal(gsd_memcache_decodes(mc), 1);
	m = gsd_memcache_find(mc, s1.id);
	assert_ptr_equal(m->endpoints, ep); /* not re-decoded */
	assert_int_equal(gsd_memcache_bytes(mc), bytes);

	uint8_t k1[GSM_WGKEY_LEN], k2[GSM_WGKEY_LEN];
	fx_bytes(k1, sizeof(k1), 102);
	fx_bytes(k2, sizeof(k2), 202);
	view_of(&s2, GSM_STATE_ALIVE, &v);
	assert_int_equal(gsd_memcache_update(mc, &v), 0);
	assert_int_equal(gsd_memcache_decodes(mc), 2);
	m = gsd_memcache_find(mc, s1.id);
	assert_int_equal(m->adv_version, 2);
	/* the key index follows the new key */
	assert_null(gsd_memcache_find_wgkey(mc, k1, NULL));
	assert_ptr_equal(gsd_memcache_find_wgkey(mc, k2, NULL), m);
	view_of(&s3, GSM_STATE_ALIVE, &v);
	assert_int_equal(gsd_memcache_update(mc, &v), 0);
	assert_int_equal(gsd_memcache_decodes(mc), 3);
	assert_int_equal(gsd_memcache_find(mc, s1.id)->adv_generation, 6);

	/* the advert goes away (version 0): kept without advert */
	v.advert = NULL;
	v.advert_len = 0;
	v.version = v.advert_generation = 0;
	assert_int_equal(gsd_memcache_update(mc, &v), 0);
	m = gsd_memcache_find(mc, s1.id);
	assert_false(m->has_advert);
	assert_int_equal(m->n_endpoints, 0);
	assert_null(gsd_memcache_find_wgkey(mc, k2, NULL));
	assert_int_equal(gsd_memcache_decodes(mc), 3);
	gsd_memcache_free(mc);
}

static void test_wgkey_duplicates(void **st)
{
	(void)st;
	struct gsd_memcache *mc = gsd_memcache_new();
	struct signed_adv s[3];
	struct gsm_swim_member v;
	uint8_t key[GSM_WGKEY_LEN], other[GSM_WGKEY_LEN];
	fx_bytes(key, sizeof(key), 300);
	fx_bytes(other, sizeof(other), 301);
	sign(10, 300, 1, 1, &s[0]);
	sign(11, 300, 1, 1, &s[1]); /* a clone: same WireGuard key */
	sign(12, 301, 1, 1, &s[2]);
	for (int i = 0; i < 3; i++) {
		view_of(&s[i], GSM_STATE_ALIVE, &v);
		assert_int_equal(gsd_memcache_update(mc, &v), 0);
	}
	int lo = memcmp(s[0].id, s[1].id, GSM_ID_LEN) < 0 ? 0 : 1;
	size_t n = 0;
	const struct gsd_member *m = gsd_memcache_find_wgkey(mc, key, &n);
	assert_int_equal(n, 2);
	assert_non_null(m);
	assert_memory_equal(m->id, s[lo].id, GSM_ID_LEN); /* lowest node id */
	m = gsd_memcache_find_wgkey(mc, other, &n);
	assert_int_equal(n, 1);
	assert_memory_equal(m->id, s[2].id, GSM_ID_LEN);
	/* the lower one goes: the other claimant remains */
	gsd_memcache_remove(mc, s[lo].id);
	m = gsd_memcache_find_wgkey(mc, key, &n);
	assert_int_equal(n, 1);
	assert_memory_equal(m->id, s[1 - lo].id, GSM_ID_LEN);
	uint8_t none[GSM_WGKEY_LEN] = {0};
	assert_null(gsd_memcache_find_wgkey(mc, none, &n));
	assert_int_equal(n, 0);
	gsd_memcache_free(mc);
}

static void test_bad_advert(void **st)
{
	(void)st;
	struct gsd_memcache *mc = gsd_memcache_new();
	struct signed_adv s, t;
	struct gsm_swim_member v;
	sign(20, 120, 1, 1, &s);
	sign(21, 121, 1, 1, &t);
	view_of(&s, GSM_STATE_ALIVE, &v);
	uint8_t junk[16] = {0x92, 0xc4, 0x01, 0x00, 0xc4};
	v.advert = junk;
	v.advert_len = sizeof(junk);
	assert_int_equal(gsd_memcache_update(mc, &v), 0);
	const struct gsd_member *m = gsd_memcache_find(mc, s.id);
	assert_non_null(m);
	assert_false(m->has_advert);
	assert_int_equal(m->state, GSM_STATE_ALIVE);
	assert_int_equal(gsd_memcache_decodes(mc), 1);
	/* not retried while its version stays */
	assert_int_equal(gsd_memcache_update(mc, &v), 0);
	assert_int_equal(gsd_memcache_decodes(mc), 1);
	/* a fixed advert of the next version decodes */
	s.version = 2;
	view_of(&s, GSM_STATE_ALIVE, &v);
	assert_int_equal(gsd_memcache_update(mc, &v), 0);
	assert_true(gsd_memcache_find(mc, s.id)->has_advert);
	/* another node's advert under this id: refused */
	v.advert = t.buf;
	v.advert_len = t.len;
	v.version = 3;
	assert_int_equal(gsd_memcache_update(mc, &v), 0);
	m = gsd_memcache_find(mc, s.id);
	assert_false(m->has_advert);
	uint8_t key[GSM_WGKEY_LEN];
	fx_bytes(key, sizeof(key), 121);
	assert_null(gsd_memcache_find_wgkey(mc, key, NULL));
	gsd_memcache_free(mc);
}

static void test_order_and_sync_views(void **st)
{
	(void)st;
	struct gsd_memcache *mc = gsd_memcache_new();
	enum { N = 12 };
	struct signed_adv *s = calloc(N, sizeof(*s));
	struct gsm_swim_member v;
	for (int i = 0; i < N; i++)
		sign((uint32_t)(40 + i), (uint32_t)(400 + i), 1, 1, &s[i]);
	/* inserted in any order, listed by node id */
	for (int i = N - 1; i >= 0; i -= 2) {
		view_of(&s[i], GSM_STATE_ALIVE, &v);
		assert_int_equal(gsd_memcache_update(mc, &v), 0);
	}
	for (int i = 0; i < N; i += 2) {
		view_of(&s[i], GSM_STATE_ALIVE, &v);
		assert_int_equal(gsd_memcache_update(mc, &v), 0);
	}
	assert_int_equal(gsd_memcache_count(mc), N);
	for (size_t i = 1; i < N; i++)
		assert_true(memcmp(gsd_memcache_at(mc, i - 1)->id, gsd_memcache_at(mc, i)->id,
				   GSM_ID_LEN) < 0);
	assert_null(gsd_memcache_at(mc, N));
	/* a resync with every third member gone drops them */
	gsd_memcache_sync_begin(mc);
	for (int i = 0; i < N; i++) {
		if (i % 3 == 0)
			continue;
		view_of(&s[i], GSM_STATE_ALIVE, &v);
		assert_int_equal(gsd_memcache_update(mc, &v), 0);
	}
	gsd_memcache_sync_end(mc);
	assert_int_equal(gsd_memcache_count(mc), N - (N + 2) / 3);
	assert_int_equal(gsd_memcache_decodes(mc), N); /* nothing re-decoded */
	for (int i = 0; i < N; i++) {
		uint8_t key[GSM_WGKEY_LEN];
		fx_bytes(key, sizeof(key), (uint32_t)(400 + i));
		const struct gsd_member *m = gsd_memcache_find(mc, s[i].id);
		if (i % 3 == 0) {
			assert_null(m);
			assert_null(gsd_memcache_find_wgkey(mc, key, NULL));
		} else {
			assert_non_null(m);
			assert_ptr_equal(gsd_memcache_find_wgkey(mc, key, NULL), m);
		}
	}
	free(s);
	gsd_memcache_free(mc);
}

/* ------------------------------------------- sync with a real core */

static uint64_t env_now(void *ctx)
{
	(void)ctx;
	return 5000;
}

static void env_send(void *ctx, const struct gsm_addr *to, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)to;
	(void)buf;
	(void)len;
}

static void env_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	memset(buf, 0x5a, len);
}

struct core {
	struct gsm_identity *id;
	struct gsm_keyring *kr;
	struct gsm_swim *swim;
};

/* a core of identity 60 holding its own advert and imports of tags */
static void core_new(struct core *c, const uint32_t *tags, size_t n)
{
	static const struct gsm_swim_env env = {
	    .now = env_now, .send = env_send, .random = env_random};
	struct gsm_swim_config cfg;
	gsm_swim_config_default(&cfg);
	c->id = ident(60);
	c->kr = fx_keyring();
	struct gsm_addr self = {.family = 4, .ip = {127, 0, 0, 1}, .port = 7946};
	assert_int_equal(gsm_swim_new(&cfg, c->id, c->kr, &self, &env, &c->swim), 0);
	struct signed_adv s;
	sign(60, 600, cfg.generation, 1, &s);
	assert_int_equal(gsm_swim_set_advert(c->swim, s.buf, s.len), 0);
	for (size_t i = 0; i < n; i++) {
		sign(tags[i], 600 + tags[i], 1, 1, &s);
		struct gsm_addr a = {
		    .family = 4, .ip = {127, 0, 0, (uint8_t)tags[i]}, .port = 7946};
		assert_int_equal(gsm_swim_import(c->swim, s.buf, s.len, &a), 0);
	}
}

static void core_free(struct core *c)
{
	gsm_swim_free(c->swim);
	gsm_keyring_free(c->kr);
	gsm_identity_free(c->id);
}

static void test_sync_with_core(void **st)
{
	(void)st;
	const uint32_t all[] = {61, 62, 63, 64}, some[] = {62, 64};
	struct core a, b;
	core_new(&a, all, 4);
	core_new(&b, some, 2);
	struct gsd_memcache *mc = gsd_memcache_new();
	assert_int_equal(gsd_memcache_sync(mc, a.swim), 0);
	assert_int_equal(gsd_memcache_count(mc), 5);
	assert_int_equal(gsd_memcache_decodes(mc), 5);
	const struct gsd_member *self = gsd_memcache_find(mc, gsm_identity_public(a.id));
	assert_non_null(self);
	assert_true(self->is_self);
	assert_true(self->has_advert);
	size_t n_self = 0;
	for (size_t i = 0; i < gsd_memcache_count(mc); i++)
		n_self += gsd_memcache_at(mc, i)->is_self;
	assert_int_equal(n_self, 1);
	/* nothing changed: nothing decoded, nothing grows */
	size_t bytes = gsd_memcache_bytes(mc);
	assert_int_equal(gsd_memcache_sync(mc, a.swim), 0);
	assert_int_equal(gsd_memcache_decodes(mc), 5);
	assert_int_equal(gsd_memcache_bytes(mc), bytes);
	/* a core that no longer has 61 and 63: dropped */
	assert_int_equal(gsd_memcache_sync(mc, b.swim), 0);
	assert_int_equal(gsd_memcache_count(mc), 3);
	assert_int_equal(gsd_memcache_decodes(mc), 5);
	assert_true(gsd_memcache_bytes(mc) < bytes);
	struct gsm_identity *gone = ident(61), *kept = ident(62);
	assert_null(gsd_memcache_find(mc, gsm_identity_public(gone)));
	const struct gsd_member *m = gsd_memcache_find(mc, gsm_identity_public(kept));
	assert_non_null(m);
	assert_false(m->is_self);
	assert_int_equal(m->gossip_addr.ip[3], 62);
	uint8_t key[GSM_WGKEY_LEN];
	fx_bytes(key, sizeof(key), 662);
	assert_ptr_equal(gsd_memcache_find_wgkey(mc, key, NULL), m);
	gsm_identity_free(gone);
	gsm_identity_free(kept);
	gsd_memcache_free(mc);
	core_free(&a);
	core_free(&b);
}

static void test_record_from_advert(void **st)
{
	(void)st;
	struct gsm_advert *a = calloc(1, sizeof(*a));
	uint8_t id[GSM_ID_LEN];
	fx_bytes(id, sizeof(id), 70);
	fx_advert_typical(a, id);
	struct gsd_member *m = gsd_member_from_advert(a);
	assert_non_null(m);
	assert_true(m->has_advert);
	assert_memory_equal(m->id, id, GSM_ID_LEN);
	assert_string_equal(m->name, "edge-fra-07");
	assert_int_equal(m->adv_generation, a->generation);
	assert_int_equal(m->adv_version, a->version);
	assert_int_equal(m->n_endpoints, 2);
	assert_memory_equal(m->endpoints, a->endpoints, 2 * sizeof(struct gsm_endpoint));
	assert_int_equal(m->n_labels, 3);
	assert_string_equal(m->labels[0].key, "zone"); /* as given */
	assert_string_equal(m->labels[2].value, "prod");
	gsd_member_free(m);
	/* empty lists */
	memset(a, 0, sizeof(*a));
	m = gsd_member_from_advert(a);
	assert_non_null(m);
	assert_null(m->endpoints);
	assert_null(m->labels);
	gsd_member_free(m);
	gsd_member_free(NULL);
	free(a);
}

int main(void)
{
	if (gsm_crypto_init())
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_insert_refresh_remove),
	    cmocka_unit_test(test_decode_once_per_version),
	    cmocka_unit_test(test_wgkey_duplicates),
	    cmocka_unit_test(test_bad_advert),
	    cmocka_unit_test(test_order_and_sync_views),
	    cmocka_unit_test(test_sync_with_core),
	    cmocka_unit_test(test_record_from_advert),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
