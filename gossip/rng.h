/*
 * gossip/rng.h - the xoshiro256** pseudo-random generator (Blackman and
 * Vigna) and the splitmix64 seeder, as static inline functions shared by
 * the membership core (gossip/swim.c: probe order, member choice, jitter)
 * and the simulator (tests/sim/sim.c: delays, loss, identities).
 *
 * Not cryptographic: nonces and keys never come from here (the core takes
 * nonces from env.random; the simulator is a test harness).  The state is
 * four 64-bit words, which must not all be zero; gsm_rng_seed() takes care
 * of that.  Deterministic for a given seed, which is what makes simulator
 * runs replayable (GSM_SIM_SEED).
 */
#ifndef GOSSAMER_GOSSIP_RNG_H
#define GOSSAMER_GOSSIP_RNG_H

#include <stdint.h>
#include <string.h>

struct gsm_rng {
	uint64_t s[4];
};

static inline uint64_t gsm_rng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* splitmix64: advances *x and returns the next output (used to expand a
 * 64-bit seed into generator state) */
static inline uint64_t gsm_rng_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Seed from 32 raw bytes (native word order); an all-zero seed becomes
 * a valid state. */
static inline void gsm_rng_seed(struct gsm_rng *r, const uint8_t seed[32])
{
	memcpy(r->s, seed, sizeof(r->s));
	if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
		r->s[0] = 1;
}

/* xoshiro256** */
static inline uint64_t gsm_rng_next(struct gsm_rng *r)
{
	uint64_t *st = r->s;
	uint64_t res = gsm_rng_rotl(st[1] * 5, 7) * 9;
	uint64_t t = st[1] << 17;

	st[2] ^= st[0];
	st[3] ^= st[1];
	st[1] ^= st[2];
	st[0] ^= st[3];
	st[2] ^= t;
	st[3] = gsm_rng_rotl(st[3], 45);
	return res;
}

/* Uniform-ish in [0, n) (modulo; the bias is negligible for the small n
 * used here); 0 for n = 0. */
static inline uint64_t gsm_rng_below(struct gsm_rng *r, uint64_t n)
{
	return n ? gsm_rng_next(r) % n : 0;
}

/* Uniform double in [0, 1) from the top 53 bits. */
static inline double gsm_rng_unit(struct gsm_rng *r)
{
	return (double)(gsm_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
