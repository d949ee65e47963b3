/* tests/unit/fixtures.c - see fixtures.h */
#include "tests/unit/fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fx_bytes(uint8_t *out, size_t n, uint32_t tag)
{
	uint32_t x = tag * 2654435761u + 0x9e3779b9u;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		out[i] = (uint8_t)x;
	}
}

struct gsm_identity *fx_identity(uint32_t tag)
{
	uint8_t seed[32];
	struct gsm_identity *id = NULL;

	fx_bytes(seed, sizeof(seed), tag);
	if (gsm_identity_from_seed(seed, &id))
		abort();
	return id;
}

static void addr4(struct gsm_addr *a, uint8_t a0, uint8_t a1, uint8_t a2, uint8_t a3, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = 4;
	a->ip[0] = a0;
	a->ip[1] = a1;
	a->ip[2] = a2;
	a->ip[3] = a3;
	a->port = port;
}

static void addr6(struct gsm_addr *a, uint16_t last, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = 6;
	a->ip[0] = 0x20;
	a->ip[1] = 0x01;
	a->ip[2] = 0x0d;
	a->ip[3] = 0xb8;
	a->ip[14] = (uint8_t)(last >> 8);
	a->ip[15] = (uint8_t)last;
	a->port = port;
}

static void prefix(struct gsm_prefix *p, uint8_t family, uint8_t b0, uint8_t b1, uint8_t b3,
		   uint8_t len)
{
	memset(p, 0, sizeof(*p));
	p->family = family;
	p->ip[0] = b0;
	p->ip[1] = b1;
	p->ip[family == 4 ? 3 : 15] = b3;
	p->len = len;
}

void fx_advert_typical(struct gsm_advert *a, const uint8_t node_id[GSM_ID_LEN])
{
	memset(a, 0, sizeof(*a));
	memcpy(a->node_id, node_id, GSM_ID_LEN);
	snprintf(a->name, sizeof(a->name), "edge-fra-07");
	fx_bytes(a->wg_pubkey, GSM_WGKEY_LEN, 77);
	a->generation = 1764160000;
	a->version = 12;
	a->wg_port = 51820;
	a->gossip_port = 7946;
	a->flags = GSM_ADV_RELAY | GSM_ADV_PUBLIC;
	a->n_endpoints = 2;
	addr4(&a->endpoints[0].addr, 203, 0, 113, 7, 51820);
	a->endpoints[0].flags = GSM_EP_CONFIGURED;
	addr6(&a->endpoints[1].addr, 7, 51820);
	a->endpoints[1].flags = GSM_EP_OBSERVED;
	a->endpoints[1].has_observer = 1;
	fx_bytes(a->endpoints[1].observer, GSM_ID_LEN, 78);
	a->n_overlay = 2;
	prefix(&a->overlay[0], 4, 10, 42, 7, 16);
	prefix(&a->overlay[1], 6, 0xfd, 0x42, 7, 64);
	a->n_prefixes = 2;
	prefix(&a->prefixes[0], 4, 192, 168, 0, 24);
	prefix(&a->prefixes[1], 6, 0xfd, 0x99, 0, 48);
	a->n_labels = 3;
	/* deliberately unsorted: the encoder sorts */
	snprintf(a->labels[0].key, sizeof(a->labels[0].key), "zone");
	snprintf(a->labels[0].value, sizeof(a->labels[0].value), "eu-central-1a");
	snprintf(a->labels[1].key, sizeof(a->labels[1].key), "role");
	snprintf(a->labels[1].value, sizeof(a->labels[1].value), "edge");
	snprintf(a->labels[2].key, sizeof(a->labels[2].key), "env");
	snprintf(a->labels[2].value, sizeof(a->labels[2].value), "prod");
	a->has_relay_via = 1;
	fx_bytes(a->relay_via, GSM_ID_LEN, 79);
}

void fx_advert_max(struct gsm_advert *a, const uint8_t node_id[GSM_ID_LEN])
{
	uint8_t buf[GSM_MAX_ADVERT];
	size_t len;

	memset(a, 0, sizeof(*a));
	memcpy(a->node_id, node_id, GSM_ID_LEN);
	memset(a->name, 'n', GSM_MAX_NAME);
	fx_bytes(a->wg_pubkey, GSM_WGKEY_LEN, 80);
	a->generation = UINT64_MAX - 1;
	a->version = UINT64_MAX - 1;
	a->wg_port = 65535;
	a->gossip_port = 65535;
	a->flags = 0xffffffffu;
	a->n_endpoints = GSM_MAX_ENDPOINTS;
	for (int i = 0; i < GSM_MAX_ENDPOINTS; i++) {
		addr6(&a->endpoints[i].addr, (uint16_t)(0xff00 + i), 65535);
		a->endpoints[i].flags = 0xff;
		a->endpoints[i].has_observer = 1;
		fx_bytes(a->endpoints[i].observer, GSM_ID_LEN, 100u + (uint32_t)i);
	}
	a->n_overlay = GSM_MAX_OVERLAY;
	for (int i = 0; i < GSM_MAX_OVERLAY; i++)
		prefix(&a->overlay[i], 6, 0xfd, 0xff, (uint8_t)i, 128);
	a->n_prefixes = GSM_MAX_PREFIXES;
	for (int i = 0; i < GSM_MAX_PREFIXES; i++)
		prefix(&a->prefixes[i], 6, 0xfd, (uint8_t)i, 0xff, 128);
	a->has_relay_via = 1;
	fx_bytes(a->relay_via, GSM_ID_LEN, 81);
	/* then as many maximal labels as fit */
	for (int i = 0; i < GSM_MAX_LABELS; i++) {
		struct gsm_label *l = &a->labels[i];
		memset(l->key, 'a' + (i % 26), GSM_MAX_LABEL_KEY);
		l->key[0] = (char)('A' + i); /* unique */
		memset(l->value, 'v', GSM_MAX_LABEL_VALUE);
		a->n_labels = (uint8_t)(i + 1);
		if (gsm_advert_encode_body(a, buf, sizeof(buf), &len) != 0) {
			a->n_labels = (uint8_t)i;
			break;
		}
	}
}

void fx_update(struct gsm_update *u, uint32_t tag)
{
	memset(u, 0, sizeof(*u));
	fx_bytes(u->node, GSM_ID_LEN, tag);
	u->state = (uint8_t)(tag % 4);
	u->generation = 1764160000u + tag;
	u->incarnation = tag * 3;
	if (tag % 2)
		addr4(&u->addr, 198, 51, 100, (uint8_t)tag, 7946);
	else
		addr6(&u->addr, (uint16_t)tag, 7946);
	u->has_from = 1;
	fx_bytes(u->from, GSM_ID_LEN, tag + 1000);
	if (u->state == GSM_STATE_LEFT || u->state == GSM_STATE_ALIVE) {
		/* LEFT: a leave signature; ALIVE: a refutation's (major 2) */
		u->has_sig = 1;
		fx_bytes(u->sig, GSM_SIG_LEN, tag + 2000);
	}
}

void fx_msg(struct gsm_msg *m, uint8_t type, size_t n_updates, const struct gsm_bytes *adverts,
	    size_t n_adverts, size_t n_digest)
{
	gsm_msg_init(m, type);
	fx_bytes(m->sender, GSM_ID_LEN, 1);
	m->sender_gen = 1764160001;
	m->seq = 4000000000u;
	switch (type) {
	case GSM_MSG_PING_REQ:
		m->has_target = 1;
		fx_bytes(m->target, GSM_ID_LEN, 2);
		addr4(&m->target_addr, 192, 0, 2, 10, 7946);
		break;
	case GSM_MSG_PING:
		m->has_target = 1;
		fx_bytes(m->target, GSM_ID_LEN, 2);
		addr4(&m->observed, 198, 51, 100, 20, 40000);
		break;
	case GSM_MSG_ACK:
	case GSM_MSG_NACK:
		m->has_target = 1;
		fx_bytes(m->target, GSM_ID_LEN, 2);
		m->has_origin = 1;
		fx_bytes(m->origin, GSM_ID_LEN, 3);
		addr6(&m->origin_addr, 3, 7946);
		addr4(&m->observed, 198, 51, 100, 20, 40000);
		addr6(&m->wg_observed, 20, 51820);
		m->flags = GSM_MF_FORWARDED;
		break;
	case GSM_MSG_SYNC_DIGEST:
	case GSM_MSG_SYNC_REQUEST:
		m->has_cursor = 1;
		fx_bytes(m->cursor, GSM_ID_LEN, 4);
		m->flags = GSM_MF_MORE | GSM_MF_REPLY;
		break;
	default:
		break;
	}
	for (size_t i = 0; i < n_updates && i < GSM_MAX_UPDATES; i++)
		fx_update(&m->updates[m->n_updates++], 10u + (uint32_t)i);
	for (size_t i = 0; i < n_adverts && i < GSM_MAX_ADVERTS; i++)
		m->adverts[m->n_adverts++] = adverts[i];
	for (size_t i = 0; i < n_digest && i < GSM_MAX_DIGEST; i++) {
		struct gsm_digest_entry *d = &m->digest[m->n_digest++];
		fx_bytes(d->node, GSM_ID_LEN, 5000u + (uint32_t)i);
		d->generation = 1764160000u + i;
		d->version = i * 1000003u;
	}
}

static int addr_eq(const struct gsm_addr *a, const struct gsm_addr *b)
{
	return gsm_addr_equal(a, b);
}

int fx_msg_equal(const struct gsm_msg *a, const struct gsm_msg *b)
{
	if (a->type != b->type || memcmp(a->sender, b->sender, GSM_ID_LEN) ||
	    a->sender_gen != b->sender_gen || a->seq != b->seq || a->flags != b->flags ||
	    a->has_target != b->has_target || a->has_origin != b->has_origin ||
	    a->has_cursor != b->has_cursor)
		return 0;
	if (a->has_target && memcmp(a->target, b->target, GSM_ID_LEN))
		return 0;
	if (a->has_origin && memcmp(a->origin, b->origin, GSM_ID_LEN))
		return 0;
	if (a->has_cursor && memcmp(a->cursor, b->cursor, GSM_ID_LEN))
		return 0;
	if (!addr_eq(&a->target_addr, &b->target_addr) ||
	    !addr_eq(&a->origin_addr, &b->origin_addr) || !addr_eq(&a->observed, &b->observed) ||
	    !addr_eq(&a->wg_observed, &b->wg_observed))
		return 0;
	if (a->n_updates != b->n_updates || a->n_adverts != b->n_adverts ||
	    a->n_digest != b->n_digest)
		return 0;
	for (size_t i = 0; i < a->n_updates; i++) {
		const struct gsm_update *x = &a->updates[i], *y = &b->updates[i];
		if (memcmp(x->node, y->node, GSM_ID_LEN) || x->state != y->state ||
		    x->generation != y->generation || x->incarnation != y->incarnation ||
		    !addr_eq(&x->addr, &y->addr) || x->has_from != y->has_from ||
		    x->has_sig != y->has_sig)
			return 0;
		if (x->has_from && memcmp(x->from, y->from, GSM_ID_LEN))
			return 0;
		if (x->has_sig && memcmp(x->sig, y->sig, GSM_SIG_LEN))
			return 0;
	}
	for (size_t i = 0; i < a->n_adverts; i++)
		if (a->adverts[i].len != b->adverts[i].len ||
		    memcmp(a->adverts[i].ptr, b->adverts[i].ptr, a->adverts[i].len))
			return 0;
	for (size_t i = 0; i < a->n_digest; i++)
		if (memcmp(a->digest[i].node, b->digest[i].node, GSM_ID_LEN) ||
		    a->digest[i].generation != b->digest[i].generation ||
		    a->digest[i].version != b->digest[i].version)
			return 0;
	return 1;
}

struct gsm_keyring *fx_keyring(void)
{
	struct gsm_keyring *kr = NULL;
	uint8_t k[GSM_CLUSTER_KEY_LEN];

	if (gsm_keyring_new("fuzz", &kr))
		abort();
	fx_bytes(k, sizeof(k), 901);
	if (gsm_keyring_add(kr, 1, k))
		abort();
	fx_bytes(k, sizeof(k), 902);
	if (gsm_keyring_add(kr, 2, k))
		abort();
	return kr;
}

static void label(struct gsm_label *l, const char *key, const char *value)
{
	snprintf(l->key, sizeof(l->key), "%s", key);
	snprintf(l->value, sizeof(l->value), "%s", value);
}

void fx_cert_node(struct gsm_cert *c, const uint8_t subject[GSM_ID_LEN],
		  const uint8_t issuer[GSM_ID_LEN])
{
	memset(c, 0, sizeof(*c));
	c->kind = GSM_CERT_NODE;
	memcpy(c->subject, subject, GSM_ID_LEN);
	memcpy(c->issuer, issuer, GSM_ID_LEN);
	c->serial = 0x1122334455667788ull;
	c->not_before = FX_CERT_NOW - FX_DAY;
	c->not_after = c->not_before + 30 * FX_DAY;
	snprintf(c->name, sizeof(c->name), "node-a");
	c->has_overlay4 = 1;
	prefix(&c->overlay4, 4, 10, 42, 7, 32);
	c->n_prefixes = 2;
	prefix(&c->prefixes[0], 6, 0xfd, 0x00, 0, 48);
	c->prefixes[0].ip[3] = 1;
	prefix(&c->prefixes[1], 4, 192, 168, 0, 24);
	c->prefixes[1].ip[2] = 10;
	c->roles = GSM_ROLE_RELAY;
	c->n_labels = 2;
	label(&c->labels[0], "site", "fra1");
	label(&c->labels[1], "env", "prod");
}

void fx_cert_join(struct gsm_cert *c, const uint8_t subject[GSM_ID_LEN],
		  const uint8_t issuer[GSM_ID_LEN])
{
	memset(c, 0, sizeof(*c));
	c->kind = GSM_CERT_JOIN;
	memcpy(c->subject, subject, GSM_ID_LEN);
	memcpy(c->issuer, issuer, GSM_ID_LEN);
	c->serial = 0x0102030405060708ull;
	c->not_before = FX_CERT_NOW - 2 * FX_DAY;
	c->not_after = c->not_before + 7 * FX_DAY;
	c->max_lifetime = 30 * FX_DAY;
	c->n_prefixes = 3;
	prefix(&c->prefixes[0], 4, 10, 42, 0, 16);
	prefix(&c->prefixes[1], 4, 192, 168, 0, 16);
	prefix(&c->prefixes[2], 6, 0xfd, 0x00, 0, 16);
	c->roles = GSM_ROLE_RELAY | GSM_ROLE_GATEWAY;
	c->n_labels = 2;
	label(&c->labels[0], "env", "*");
	label(&c->labels[1], "site", "fra1");
}
