/*
 * daemon/reload.c - SIGHUP and the `reload` command.
 *
 * A reload re-reads the file with the same command-line flags, validates
 * everything first (a bad file changes nothing), brings the running
 * cluster key ring in line with the key file, then applies what can change
 * live: log settings, routes, endpoints, labels, prefixes, seeds, the
 * static IPv4 address, and the authority keys, mode and certificate (a
 * new certificate file re-signs the advert: a new version, no WireGuard
 * change, no tunnel drop).  What needs a new socket, interface or core
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

/* Key rotation without a restart: bring the running key ring (which the
 * core borrows) in line with the file with gsm_keyring_merge (add the
 * listed keys, drop the unlisted ones, make the file's first key primary;
 * all or nothing).  Rollout: add the new key on every node (reload), then
 * make it primary (first line) everywhere, then remove the old one; every
 * step keeps the cluster talking, and the last one revokes the old key.  A
 * key id whose key changed is refused: a new key needs a new id. */
static int reload_keyring(struct gsd_daemon *d, const char *path, char *msg, size_t msglen)
{
	struct gsm_keyring *nkr = NULL;
	struct gsm_keyring_merge_result res;
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
	r = gsm_keyring_merge(d->kr, nkr, &res);
	gsm_keyring_free(nkr);
	if (r == -EEXIST) {
		snprintf(msg, msglen,
			 "cluster key file %s: key id %u now has a different key (give a new key a "
			 "new id)",
			 path, res.conflict_id);
		return -EINVAL;
	}
	if (r < 0) {
		snprintf(msg, msglen, "cluster key file %s: %s", path, gsm_strerror(r));
		return -EINVAL;
	}
	if (res.added || res.removed || res.primary_changed)
		gsd_info("cluster keys: %zu added, %zu removed, primary id %u (%zu keys)",
			 (size_t)res.added, (size_t)res.removed, (unsigned)res.primary,
			 gsm_keyring_count(d->kr));
	return 0;
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
	/* authority mode: the chain for the new configuration (a join key
	 * that cannot issue it refuses the reload); RESTART_ONLY keys do not
	 * enter the certificate request */
	struct gsd_chain *chain = malloc(sizeof(*chain));
	r = chain ? gsd_authority_prepare(d, nc, chain, msg, msglen) : -ENOMEM;
	if (r < 0) {
		if (r == -ENOMEM)
			snprintf(msg, msglen, "out of memory");
		free(chain);
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
	RESTART_ONLY(replay_window_ms, "replay_window");
	RESTART_ONLY(max_members, "max_members");
	RESTART_ONLY(mtu, "mtu");
	RESTART_ONLY(route_table, "route_table");
	RESTART_ONLY(route_priority, "route_priority");
#undef RESTART_ONLY
	bool addr_changed = nc->has_ipv4_address != oc->has_ipv4_address ||
			    memcmp(&nc->ipv4_address, &oc->ipv4_address, sizeof(nc->ipv4_address));
	bool seeds_changed = nc->n_seeds != oc->n_seeds ||
			     memcmp(nc->seeds, oc->seeds, sizeof(nc->seeds[0]) * nc->n_seeds);
	*oc = *nc;
	free(nc);
	gsd_authority_apply(d, chain);
	free(chain);
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
	gsd_exit_reloaded(d);
	gsd_advert_refresh(d, "reload");
	if (seeds_changed && oc->n_seeds)
		gsd_join_seeds(d, false);
	gsd_schedule_refresh(d);
	gsd_info("configuration reloaded");
	return 0;
}
