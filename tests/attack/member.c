/*
 * tests/attack/member.c - attacks a member can make with the cluster key
 * and an identity of its own: forged death claims about another member,
 * a flood of fresh self-signed identities, and bare updates about random
 * node ids (no advert, no signature).
 *
 * Everything sent is a well-formed GOSSIP datagram, sealed like a daemon
 * seals it: what a compromised or malicious member can send, nothing more.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tests/attack/attack.h"

#define SYBIL_BUDGET (GSM_DEFAULT_MTU - GSM_ENVELOPE_OVERHEAD - 16)

static void gossip_init(struct atk *a, struct gsm_msg *m)
{
	gsm_msg_init(m, GSM_MSG_GOSSIP);
	memcpy(m->sender, gsm_identity_public(a->id), GSM_ID_LEN);
	m->sender_gen = 1;
}

/* One DEAD update about the victim, from us, to every target. */
int atk_forge_dead(struct atk *a)
{
	struct gsm_msg *m = a->msg;
	struct gsm_update *u = &m->updates[0];
	int r = 0;

	if (!a->o.has_victim || a->o.n_to == 0)
		return -EINVAL;
	gossip_init(a, m);
	memset(u, 0, sizeof(*u));
	memcpy(u->node, a->o.victim, GSM_ID_LEN);
	u->state = GSM_STATE_DEAD;
	u->generation = a->o.gen;
	u->incarnation = a->o.inc;
	u->has_from = 1;
	memcpy(u->from, gsm_identity_public(a->id), GSM_ID_LEN);
	m->n_updates = 1;
	for (unsigned long k = 0; k < (a->o.count ? a->o.count : 1) && r == 0; k++) {
		for (size_t i = 0; i < a->o.n_to && r == 0; i++) {
			r = atk_send_msg(a, &a->o.to[i], m);
			atk_pause(a);
		}
	}
	atk_listen(a, a->o.window_ms, NULL, NULL);
	atk_extra(a, ",\"generation\":%llu,\"incarnation\":%llu", (unsigned long long)a->o.gen,
		  (unsigned long long)a->o.inc);
	return r;
}

/* A fresh identity's signed advert into out (cap GSM_MAX_ADVERT). */
static int sybil_advert(unsigned long k, uint8_t *out, size_t *len)
{
	struct gsm_identity *id = NULL;
	struct gsm_advert *adv = calloc(1, sizeof(*adv));
	uint8_t wg_priv[32];
	int r = -ENOMEM;

	if (!adv)
		goto out;
	r = gsm_identity_generate(&id);
	if (r < 0)
		goto out;
	memcpy(adv->node_id, gsm_identity_public(id), GSM_ID_LEN);
	snprintf(adv->name, sizeof(adv->name), "sybil-%lu", k);
	randombytes_buf(wg_priv, sizeof(wg_priv));
	crypto_scalarmult_curve25519_base(adv->wg_pubkey, wg_priv);
	adv->generation = 1;
	adv->version = 1;
	adv->wg_port = 51820;
	adv->gossip_port = 51821;
	r = gsm_advert_sign(adv, id, out, GSM_MAX_ADVERT, len);
out:
	sodium_memzero(wg_priv, sizeof(wg_priv));
	gsm_identity_free(id);
	free(adv);
	return r;
}

/* count fresh identities, each with a valid self-signed advert, packed as
 * many per datagram as fit a member's MTU, all to the first target */
int atk_identities(struct atk *a)
{
	struct gsm_msg *m = a->msg;
	uint8_t(*store)[GSM_MAX_ADVERT] = malloc((size_t)GSM_MAX_ADVERTS * GSM_MAX_ADVERT);
	unsigned long k = 0;
	int r = 0;

	if (!store)
		return -ENOMEM;
	while (k < a->o.count && r == 0) {
		size_t used;

		gossip_init(a, m);
		used = gsm_msg_encoded_size(m);
		while (k < a->o.count && m->n_adverts < GSM_MAX_ADVERTS) {
			size_t len = 0;

			r = sybil_advert(k, store[m->n_adverts], &len);
			if (r < 0)
				break;
			if (m->n_adverts && used + gsm_advert_ref_encoded_size(len) > SYBIL_BUDGET)
				break; /* this one starts the next datagram (regenerated) */
			m->adverts[m->n_adverts].ptr = store[m->n_adverts];
			m->adverts[m->n_adverts].len = len;
			m->n_adverts++;
			used += gsm_advert_ref_encoded_size(len);
			k++;
		}
		if (r == 0 && m->n_adverts)
			r = atk_send_msg(a, &a->o.to[0], m);
		atk_pause(a);
	}
	free(store);
	atk_listen(a, a->o.window_ms, NULL, NULL);
	atk_extra(a, ",\"identities\":%lu", k);
	return r;
}

/* count ALIVE updates about random node ids, GSM_MAX_UPDATES a datagram */
int atk_bare_ids(struct atk *a)
{
	struct gsm_msg *m = a->msg;
	unsigned long k = 0;
	int r = 0;

	while (k < a->o.count && r == 0) {
		gossip_init(a, m);
		while (k < a->o.count && m->n_updates < GSM_MAX_UPDATES) {
			struct gsm_update *u = &m->updates[m->n_updates++];

			memset(u, 0, sizeof(*u));
			randombytes_buf(u->node, GSM_ID_LEN);
			u->state = GSM_STATE_ALIVE;
			u->generation = 1;
			k++;
		}
		r = atk_send_msg(a, &a->o.to[k / GSM_MAX_UPDATES % a->o.n_to], m);
		atk_pause(a);
	}
	atk_listen(a, a->o.window_ms, NULL, NULL);
	atk_extra(a, ",\"ids\":%lu", k);
	return r;
}
