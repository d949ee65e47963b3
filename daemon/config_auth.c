/*
 * daemon/config_auth.c - the [authority] section's values.
 *
 * Authority mode (docs/authority.md) is configured by four keys: the
 * authority public keys a node trusts, the mode (off, warn, require),
 * the node's own certificate chain file and, optionally, a join key with
 * which the node issues that certificate itself.  The two paths are plain
 * path keys (config_parse.c); the keys list and the mode are parsed here,
 * strictly: a key is exactly 32 bytes of standard base64 (what
 * `gossamer authority init` prints), listed at most once, at most
 * GSD_MAX_AUTHORITIES of them (several so that an authority can be
 * rotated without a flag day).
 *
 * The mode has a default that depends on the keys: require when any key
 * is set, off otherwise; an explicit warn or require without a key is
 * refused by gsd_config_validate (config.c), since it could admit no one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/config_parse.h"
#include "gossip/crypto.h"

int gsd_config_authority_mode(const struct gsd_config *c)
{
	if (c->authority_mode != GSD_AUTH_MODE_DEFAULT)
		return c->authority_mode;
	return c->n_authorities ? GSD_AUTH_MODE_REQUIRE : GSD_AUTH_MODE_OFF;
}

const char *gsd_authority_mode_name(int mode)
{
	switch (mode) {
	case GSD_AUTH_MODE_OFF:
		return "off";
	case GSD_AUTH_MODE_WARN:
		return "warn";
	case GSD_AUTH_MODE_REQUIRE:
		return "require";
	default:
		return "default";
	}
}

int gsd_config_certificate_path(const struct gsd_config *c, char *buf, size_t cap)
{
	if (c->certificate[0])
		return snprintf(buf, cap, "%s", c->certificate);
	return snprintf(buf, cap, "%s/node.cert", c->state_dir);
}

/* one base64 key of the comma/space separated list */
static int add_key(struct gsd_config *c, const char *it, char *err, size_t errlen)
{
	uint8_t k[32];
	size_t len = 0;
	if (strlen(it) != 44 || gsm_b64_decode(it, k, sizeof(k), &len) < 0 || len != 32) {
		snprintf(err, errlen, "'%s' is not a base64 Ed25519 public key (44 characters)",
			 it);
		return -EINVAL;
	}
	for (int i = 0; i < c->n_authorities; i++)
		if (!memcmp(c->authorities[i], k, 32)) {
			snprintf(err, errlen, "authority key %s listed twice", it);
			return -EINVAL;
		}
	if (c->n_authorities >= GSD_MAX_AUTHORITIES) {
		snprintf(err, errlen, "too many authority keys (max %d)", GSD_MAX_AUTHORITIES);
		return -EINVAL;
	}
	memcpy(c->authorities[c->n_authorities++], k, 32);
	return 0;
}

static int set_keys(struct gsd_config *c, const char *v, char *err, size_t errlen)
{
	char buf[1024];
	int n = 0;
	if (strlen(v) >= sizeof(buf)) {
		snprintf(err, errlen, "value too long");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", v);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		int r = add_key(c, tok, err, errlen);
		if (r < 0)
			return r;
		n++;
	}
	if (!n) {
		snprintf(err, errlen, "empty list");
		return -EINVAL;
	}
	return 0;
}

static int set_mode(struct gsd_config *c, const char *v, char *err, size_t errlen)
{
	static const int modes[] = {GSD_AUTH_MODE_OFF, GSD_AUTH_MODE_WARN, GSD_AUTH_MODE_REQUIRE};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(v, gsd_authority_mode_name(modes[i]))) {
			c->authority_mode = modes[i];
			return 0;
		}
	snprintf(err, errlen, "'%s' is not one of off, warn, require", v);
	return -EINVAL;
}

int gsd_config_set_authority(struct gsd_config *c, const struct gsd_keydef *k, const char *v,
			     char *err, size_t errlen)
{
	if (k->type == K_AUTHORITIES)
		return set_keys(c, v, err, errlen);
	if (k->type == K_AUTHMODE)
		return set_mode(c, v, err, errlen);
	snprintf(err, errlen, "internal error");
	return -EINVAL;
}
