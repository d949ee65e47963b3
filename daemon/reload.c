/*
 * daemon/reload.c - SIGHUP and the `reload` command.
 *
 * A reload re-reads the file with the same command-line flags, validates
 * everything first (a bad file changes nothing), brings the running
 * cluster key ring in line with the key file, then applies what can change
 * live: log settings, routes, endpoints, labels, prefixes, seeds, the
 * static IPv4 address.  What needs a new socket, interface or core
 * (interface, ports, binds, backend, directories, prefixes, intervals) is
 * kept and reported with a warning.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "daemon/daemon_int.h"
#include "daemon/log.h"
#include "gossip/crypto.h"

/* Validate the key file (permissions, format, cluster name) and read its
 * ids and keys, in file order, into ids/keys (GSM_MAX_KEYS each; keys in
 * sodium_malloc'd memory of the caller).  0 or -EINVAL with msg. */
static int read_key_file(struct gsd_daemon *d, const char *path, uint16_t *ids, uint8_t *keys,
			 size_t *n, char *msg, size_t msglen)
{
	struct gsm_keyring *nkr = NULL;
	int r = gsc_check_secret(path, msg, msglen);
	if (r == -ENOENT) {
		snprintf(msg, msglen, "cluster key file %s does not exist", path);
		return -EINVAL;
	}
	if (r < 0)
		return -EINVAL;
	r = gsm_keyring_load(path, d->cfg.cluster_name, &nkr);
	if (r < 0) {
		snprintf(msg, msglen, "cluster key file %s: %s", path, gsm_strerror(r));
		return -EINVAL;
	}
	gsm_keyring_free(nkr); /* validated; now read the ids and keys */
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(msg, msglen, "cluster key file %s: cannot read", path);
		return -EINVAL;
	}
	char line[256];
	r = 0;
	*n = 0;
	while (fgets(line, sizeof(line), f) && *n < GSM_MAX_KEYS) {
		char *p = line + strspn(line, " \t");
		if (*p == '#' || *p == '\n' || !*p)
			continue;
		char *end;
		unsigned long id = strtoul(p, &end, 10);
		char *b64 = end + strspn(end, " \t");
		b64[strcspn(b64, " \t\r\n")] = 0;
		size_t kl = 0;
		if (id > 65535 ||
		    sodium_base642bin(keys + *n * GSM_CLUSTER_KEY_LEN, GSM_CLUSTER_KEY_LEN, b64,
				      strlen(b64), NULL, &kl, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    kl != GSM_CLUSTER_KEY_LEN) {
			snprintf(msg, msglen, "cluster key file %s: malformed line", path);
			r = -EINVAL;
			break;
		}
		ids[(*n)++] = (uint16_t)id;
	}
	sodium_memzero(line, sizeof(line));
	fclose(f);
	return r;
}

/* Key rotation without a restart: bring the running key ring (which the
 * core borrows) in line with the file.  Rollout: add the new key on every
 * node (reload), then make it primary (first line) everywhere, then
 * remove the old one; every step keeps the cluster talking, and the last
 * one revokes the old key.  A key id whose key changed is refused: a new
 * key needs a new id. */
static int reload_keyring(struct gsd_daemon *d, const char *path, char *msg, size_t msglen)
{
	uint16_t ids[GSM_MAX_KEYS];
	size_t n = 0;
	int r = -EINVAL;
	uint8_t *keys = sodium_malloc(GSM_MAX_KEYS * GSM_CLUSTER_KEY_LEN);
	if (!keys) {
		snprintf(msg, msglen, "cluster key file %s: cannot read", path);
		return -EINVAL;
	}
	r = read_key_file(d, path, ids, keys, &n, msg, msglen);
	if (r < 0)
		goto out;
	/* 1. refuse changed keys under an existing id before touching anything
	 *    (adding an id that is present is a no-op or -EEXIST) */
	for (size_t i = 0; i < n; i++) {
		if (!gsm_keyring_has(d->kr, ids[i]))
			continue;
		if (gsm_keyring_add(d->kr, ids[i], keys + i * GSM_CLUSTER_KEY_LEN) == -EEXIST) {
			snprintf(msg, msglen,
				 "cluster key file %s: key id %u now has a different key (give a "
				 "new key a new id)",
				 path, ids[i]);
			r = -EINVAL;
			goto out;
		}
	}
	/* 2. drop unlisted keys (not the primary yet) to make room */
	uint16_t have[GSM_MAX_KEYS];
	size_t nh = gsm_keyring_ids(d->kr, have, GSM_MAX_KEYS), removed = 0, added = 0;
	for (size_t i = 0; i < nh && i < GSM_MAX_KEYS; i++) {
		bool listed = false;
		for (size_t k = 0; k < n; k++)
			listed |= ids[k] == have[i];
		if (!listed && gsm_keyring_remove(d->kr, have[i]) == 0)
			removed++;
	}
	/* 3. add the new ones */
	for (size_t i = 0; i < n; i++) {
		if (gsm_keyring_has(d->kr, ids[i]))
			continue;
		r = gsm_keyring_add(d->kr, ids[i], keys + i * GSM_CLUSTER_KEY_LEN);
		if (r < 0) {
			snprintf(msg, msglen, "cluster key file %s: %s", path, gsm_strerror(r));
			r = -EINVAL;
			goto out;
		}
		added++;
	}
	/* 4. switch the primary, then drop the old primary if unlisted */
	int old_primary = gsm_keyring_primary(d->kr);
	gsm_keyring_use(d->kr, ids[0]);
	if (old_primary >= 0 && old_primary != ids[0]) {
		bool listed = false;
		for (size_t k = 0; k < n; k++)
			listed |= ids[k] == old_primary;
		if (!listed && gsm_keyring_remove(d->kr, (uint16_t)old_primary) == 0)
			removed++;
	}
	if (added || removed || old_primary != ids[0])
		gsd_info("cluster keys: %zu added, %zu removed, primary id %u (%zu keys)", added,
			 removed, ids[0], gsm_keyring_count(d->kr));
	r = 0;
out:
	sodium_free(keys);
	return r;
}

int gsd_reload(struct gsd_daemon *d, char *msg, size_t msglen)
{
	struct gsd_config *nc = malloc(sizeof(*nc));
	if (!nc)
		return -ENOMEM;
	int r = gsd_config_build(nc, &d->cli, msg, msglen);
	if (r < 0) {
		free(nc);
		return r;
	}
	r = reload_keyring(d, nc->cluster_key_file, msg, msglen);
	if (r < 0) {
		free(nc);
		return r;
	}
	struct gsd_config *oc = &d->cfg;
#define RESTART_ONLY(field, key)                                                                   \
	do {                                                                                       \
		if (memcmp(&oc->field, &nc->field, sizeof(oc->field)))                             \
			gsd_warn("reload: %s changed; takes effect after a restart", key);         \
		memcpy(&nc->field, &oc->field, sizeof(oc->field));                                 \
	} while (0)
	RESTART_ONLY(interface, "interface");
	RESTART_ONLY(wg_port, "listen_port");
	RESTART_ONLY(gossip_port, "port");
	RESTART_ONLY(binds, "bind");
	RESTART_ONLY(n_binds, "bind");
	RESTART_ONLY(backend, "backend");
	RESTART_ONLY(state_dir, "state_dir");
	RESTART_ONLY(control_socket, "control_socket");
	RESTART_ONLY(cluster_name, "cluster_name");
	RESTART_ONLY(wg_socket_dir, "socket_dir");
	RESTART_ONLY(ipv4_prefix, "ipv4_prefix");
	RESTART_ONLY(has_ipv4_prefix, "ipv4_prefix");
	RESTART_ONLY(ipv6_prefix, "ipv6_prefix");
	RESTART_ONLY(has_ipv6_prefix, "ipv6_prefix");
	RESTART_ONLY(probe_interval_ms, "probe_interval");
	RESTART_ONLY(sync_interval_ms, "sync_interval");
#undef RESTART_ONLY
	bool addr_changed = nc->has_ipv4_address != oc->has_ipv4_address ||
			    memcmp(&nc->ipv4_address, &oc->ipv4_address, sizeof(nc->ipv4_address));
	bool seeds_changed = nc->n_seeds != oc->n_seeds ||
			     memcmp(nc->seeds, oc->seeds, sizeof(nc->seeds[0]) * nc->n_seeds);
	*oc = *nc;
	free(nc);
	gsd_log_set_level(oc->log_level);
	gsd_log_set_name(oc->name);
	gsd_log_set_syslog(oc->syslog);
	gsd_backend_set_options(d->be, oc->install_routes, oc->stop_wireguard_go);
	if (oc->public_node)
		d->behind_nat = false;
	if (addr_changed) {
		if (oc->has_ipv4_address) {
			d->v4.family = 4;
			memcpy(d->v4.ip, oc->ipv4_address.ip, 4);
			d->v4.len = 32;
			d->have_v4 = true;
		} else {
			d->have_v4 = false;
			gsd_check_v4(d);
		}
		d->static_conflict_logged = false;
	}
	gsd_advert_refresh(d, "reload");
	if (seeds_changed && oc->n_seeds)
		gsd_join_seeds(d, false);
	gsd_schedule_refresh(d);
	gsd_info("configuration reloaded");
	return 0;
}
