/*
 * daemon/daemon.c - the gossamerd runtime: setup, run, leave, shutdown.
 *
 * One libuv loop drives everything: UDP gossip sockets (one per bind
 * address, IPv4 and IPv6), ONE timer feeding the SWIM core (re-armed after
 * every call into it from gsm_swim_next_deadline), a debounced "refresh"
 * timer that turns membership changes into WireGuard changes, a debounced
 * persistence timer, the control socket and the signals.  The components
 * live in their own files (see daemon_int.h); this one owns the lifecycle.
 *
 * Startup order is chosen so that a bad configuration changes nothing:
 * flags + file -> validation -> cluster key ring -> backend probe -> state
 * directory and keys -> generation bump -> sockets -> control socket ->
 * WireGuard interface (created or adopted) -> persisted members imported ->
 * first reconcile (re-applies the last WireGuard state without touching
 * unchanged peers) -> join.  Everything before the sockets exits with code 2
 * and a one-line message.  gsd_main runs these as named phases.
 *
 * Robustness choices: tunnels outlive the control plane.  Peers of dead
 * members stay for dead_grace and while their handshake is fresh; peers
 * present on the interface but unknown to a freshly restarted daemon are
 * kept until the first anti-entropy sync completes (or dead_grace passes),
 * so a restart never flushes working tunnels.  SIGTERM/SIGINT gossip a
 * signed leave (bounded to 2 s) and exit 0; the interface is left in place
 * (a restart adopts it).  SIGHUP and the `reload` command re-read the file
 * and re-apply the same flags; what cannot change live is reported.
 *
 * IPv4 overlay collisions are checked on every refresh against the other
 * members' adverts; the loser (higher node id) moves to its next derived
 * address and re-advertises (see advert.c and overlay.c).
 */
#include "daemon/daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "common/fileio.h"
#include "daemon/clients.h"
#include "daemon/daemon_int.h"
#include "daemon/log.h"
#include "daemon/nat.h"
#include "gossip/crypto.h"

#define LEAVE_BOUND_MS 2000

/* setup phases answer one of these */
enum {
	PHASE_OK = 0,	 /* go on */
	PHASE_EXIT = 1,	 /* done, exit with *rc (help, version, check) */
	PHASE_FAIL = -1, /* logged; exit with *rc */
};

/* ------------------------------------------------------------ shutdown */

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

void gsd_stop_everything(struct gsd_daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	gsd_persist_now(d);
	gsd_io_stop(d);
	gsd_exit_stop(d);
	gsd_control_close(d->ctl);
	d->ctl = NULL;
	uv_stop(d->loop);
}

static void on_exit_timer(uv_timer_t *t)
{
	gsd_stop_everything(t->data);
}

static void finish_leave(struct gsd_daemon *d, bool done)
{
	uv_timer_stop(&d->leave_timer);
	if (done)
		gsd_info("left the cluster");
	else
		gsd_warn("leave not confirmed within %d ms; exiting anyway", LEAVE_BOUND_MS);
	while (d->leave_waiters) {
		struct gsd_pending_leave *p = d->leave_waiters;
		d->leave_waiters = p->next;
		gsd_ctl_reply_ok(p->c, NULL);
		free(p);
	}
	/* let the replies flush */
	uv_timer_start(&d->exit_timer, on_exit_timer, 100, 0);
}

static void on_leave_poll(uv_timer_t *t)
{
	struct gsd_daemon *d = t->data;
	if (gsm_swim_leave_done(d->swim))
		finish_leave(d, true);
	else if (gsd_now_ms() >= d->leave_deadline)
		finish_leave(d, false);
}

void gsd_start_leave(struct gsd_daemon *d)
{
	if (d->leaving)
		return;
	d->leaving = true;
	gsd_info("leaving the cluster");
	int r = d->swim ? gsm_swim_leave(d->swim) : -EINVAL;
	if (r < 0) {
		gsd_warn("leave: %s", gsm_strerror(r));
		finish_leave(d, false);
		return;
	}
	gsd_kick(d);
	d->leave_deadline = gsd_now_ms() + LEAVE_BOUND_MS;
	uv_timer_start(&d->leave_timer, on_leave_poll, 20, 20);
}

int gsd_leave_add_waiter(struct gsd_daemon *d, struct gsd_ctl_client *c)
{
	struct gsd_pending_leave *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->c = c;
	p->next = d->leave_waiters;
	d->leave_waiters = p;
	return 0;
}

/* ------------------------------------------------------------ signals */

static void on_signal(uv_signal_t *s, int signum)
{
	struct gsd_daemon *d = s->data;
	if (signum == SIGHUP) {
		char msg[1024];
		gsd_info("SIGHUP: reloading configuration");
		if (gsd_reload(d, msg, sizeof(msg)) < 0)
			gsd_err("reload failed, keeping the running configuration: %s", msg);
		return;
	}
	if (d->leaving) {
		gsd_warn("second signal: exiting now");
		gsd_stop_everything(d);
		return;
	}
	gsd_info("%s: leaving", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	gsd_start_leave(d);
}

static void start_signals(struct gsd_daemon *d)
{
	uv_signal_init(d->loop, &d->sig_term);
	uv_signal_init(d->loop, &d->sig_int);
	uv_signal_init(d->loop, &d->sig_hup);
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
	uv_signal_start(&d->sig_term, on_signal, SIGTERM);
	uv_signal_start(&d->sig_int, on_signal, SIGINT);
	uv_signal_start(&d->sig_hup, on_signal, SIGHUP);
}

/* ------------------------------------------------------------ setup phases */

static int generate_cluster_key(const char *path)
{
	struct gsm_keyring *kr = NULL;
	uint8_t key[GSM_CLUSTER_KEY_LEN];
	int r = gsm_keyring_new("gossamer", &kr);
	if (r < 0)
		goto out;
	randombytes_buf(key, sizeof(key));
	r = gsm_keyring_add(kr, 1, key);
	sodium_memzero(key, sizeof(key));
	if (r < 0)
		goto out;
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "gossamerd: %s exists; refusing to overwrite\n", path);
		gsm_keyring_free(kr);
		return GSD_EXIT_CONFIG;
	}
	r = gsm_keyring_save(kr, path);
out:
	gsm_keyring_free(kr);
	if (r < 0) {
		fprintf(stderr, "gossamerd: %s: %s\n", path, gsm_strerror(r));
		return GSD_EXIT_RUNTIME;
	}
	fprintf(stderr, "gossamerd: wrote a new cluster key ring to %s\n", path);
	return GSD_EXIT_OK;
}

/* 1. flags + file; nothing is touched before this succeeds */
static int phase_config(struct gsd_daemon *d, int argc, char **argv, int *rc)
{
	char msg[2048];
	if (gsd_cli_parse(&d->cli, argc, argv, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "gossamerd: %s\n", msg);
		return PHASE_FAIL;
	}
	if (d->cli.help) {
		gsd_cli_usage(stdout);
		*rc = GSD_EXIT_OK;
		return PHASE_EXIT;
	}
	if (d->cli.version) {
		printf("gossamerd %s\n", GSM_VERSION);
		*rc = GSD_EXIT_OK;
		return PHASE_EXIT;
	}
	if (d->cli.gen_cluster_key) {
		*rc = generate_cluster_key(d->cli.gen_cluster_key);
		return PHASE_EXIT;
	}
	if (gsd_config_build(&d->cfg, &d->cli, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "gossamerd: %s\n", msg);
		return PHASE_FAIL;
	}
	gsd_log_set_name(d->cfg.name);
	gsd_log_set_level(d->cfg.log_level);
	gsd_log_set_syslog(d->cfg.syslog);
	return PHASE_OK;
}

/* 2. cluster key ring */
static int phase_keyring(struct gsd_daemon *d)
{
	char msg[2048];
	int r = gsc_check_secret(d->cfg.cluster_key_file, msg, sizeof(msg));
	if (r == -ENOENT) {
		gsd_err("cluster key file %s does not exist (create one with `gossamerd "
			"--generate-cluster-key %s` and copy it to every node)",
			d->cfg.cluster_key_file, d->cfg.cluster_key_file);
		return PHASE_FAIL;
	}
	if (r < 0) {
		gsd_err("cluster key: %s", msg);
		return PHASE_FAIL;
	}
	r = gsm_keyring_load(d->cfg.cluster_key_file, d->cfg.cluster_name, &d->kr);
	if (r < 0) {
		gsd_err("cluster key file %s: %s", d->cfg.cluster_key_file, gsm_strerror(r));
		return PHASE_FAIL;
	}
	return PHASE_OK;
}

/* 3. backend availability (no changes yet); --check-config stops here */
static int phase_probe(struct gsd_daemon *d, int *rc)
{
	char msg[2048];
	if (gsd_backend_probe(&d->cfg, &d->backend_kind, msg, sizeof(msg)) < 0) {
		gsd_err("%s", msg);
		return PHASE_FAIL;
	}
	if (d->cli.check_config) {
		printf("configuration ok (backend %s)\n", gsd_backend_name(d->backend_kind));
		*rc = GSD_EXIT_OK;
		return PHASE_EXIT;
	}
	return PHASE_OK;
}

/* 4. state directory, keys, generation */
static int phase_state(struct gsd_daemon *d)
{
	char msg[2048];
	if (gsd_state_dir_prepare(d->cfg.state_dir, msg, sizeof(msg)) < 0) {
		gsd_err("%s", msg);
		return PHASE_FAIL;
	}
	if (gsd_keys_load(d->cfg.state_dir, &d->keys, msg, sizeof(msg)) < 0) {
		gsd_err("keys: %s", msg);
		return PHASE_FAIL;
	}
	if (gsd_generation_bump(d->cfg.state_dir, (uint64_t)gsd_now_unix(), &d->generation, msg,
				sizeof(msg)) < 0) {
		gsd_err("%s", msg);
		return PHASE_FAIL;
	}
	char id[2 * GSM_ID_LEN + 1], key[45];
	gsd_hex_id(gsm_identity_public(d->keys.identity), id);
	gsd_b64_key(d->keys.wg_public, key);
	gsd_info("gossamerd %s starting: id %s%s, WireGuard key %s%s, generation %llu, backend %s",
		 GSM_VERSION, id, d->keys.identity_created ? " (new)" : "", key,
		 d->keys.wg_created ? " (new)" : "", (unsigned long long)d->generation,
		 gsd_backend_name(d->backend_kind));
	return PHASE_OK;
}

/* 5. the loop's timers (nothing started yet) */
static void init_runtime(struct gsd_daemon *d, uv_loop_t *loop)
{
	uv_timer_t *timers[] = {
	    &d->tick_timer,  &d->refresh_timer, &d->persist_timer, &d->periodic_timer,
	    &d->leave_timer, &d->exit_timer,	&d->nat_timer,	   &d->grace_timer,
	};
	d->loop = loop;
	d->start_ms = gsd_now_ms();
	d->start_unix = gsd_now_unix();
	d->holdoff = true;
	for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++) {
		uv_timer_init(loop, timers[i]);
		timers[i]->data = d;
	}
}

/* 6. gossip sockets, control socket, WireGuard interface */
static int phase_open(struct gsd_daemon *d, int *rc)
{
	char msg[2048];
	if (gsd_open_udp(d, msg, sizeof(msg)) < 0) {
		gsd_err("%s", msg);
		return PHASE_FAIL;
	}
	int r = gsd_control_open(d->loop, d->cfg.control_socket, gsd_on_control, d, &d->ctl);
	if (r < 0) {
		gsd_err("control socket %s: %s", d->cfg.control_socket,
			r == -EADDRINUSE ? "another gossamerd is answering on it" : strerror(-r));
		d->ctl = NULL;
		return PHASE_FAIL;
	}
	if (gsd_backend_new(&d->be) < 0) {
		gsd_err("out of memory");
		return PHASE_FAIL;
	}
	r = gsd_backend_open(d->be, &d->cfg, d->backend_kind, d->loop, msg, sizeof(msg));
	if (r < 0) {
		gsd_err("%s", msg);
		*rc = GSD_EXIT_CONFIG;
		return PHASE_FAIL;
	}
	return PHASE_OK;
}

/* 7. overlay addresses and the NAT planner (real backends only) */
static int phase_overlay(struct gsd_daemon *d)
{
	gsd_setup_overlay(d);
	if (d->backend_kind == GSD_BACKEND_NONE)
		return PHASE_OK;
	if (gsd_nat_new(&d->nat) < 0 || gsd_exit_new(&d->exitn) < 0) {
		gsd_err("out of memory");
		return PHASE_FAIL;
	}
	if (gsd_gateway_new(&d->gw, &d->fwd, d->cfg.interface) < 0)
		gsd_warn("gateway: interface name %s unusable in nftables rules", d->cfg.interface);
	if (d->cfg.relay) {
		int r = gsd_nat_enable_forwarding();
		if (r < 0)
			gsd_warn("relay: cannot enable IP forwarding: %s", strerror(-r));
		else
			gsd_info("relay: IP forwarding enabled");
	}
	return PHASE_OK;
}

/* 8. the gossip core with our advert and the members of the last run; the
 * first reconcile re-applies the last known WireGuard state (adopting) */
static int phase_core(struct gsd_daemon *d, struct gsm_addr *self_addr)
{
	struct gsm_swim_config sc;
	struct gsm_swim_env env;
	gsm_swim_config_default(&sc);
	sc.generation = d->generation;
	sc.probe_interval_ms = d->cfg.probe_interval_ms;
	sc.replay_window_ms = d->cfg.replay_window_ms;
	sc.max_members = d->cfg.max_members;
	if (sc.probe_timeout_ms > sc.probe_interval_ms / 2)
		sc.probe_timeout_ms = sc.probe_interval_ms / 2;
	sc.sync_interval_ms = d->cfg.sync_interval_ms;
	gsd_io_env(d, &env);
	gsd_pick_self_addr(d, self_addr);
	d->members = gsd_memcache_new(); /* before the core: its events feed it */
	if (!d->members) {
		gsd_err("gossip core: %s", strerror(ENOMEM));
		return PHASE_FAIL;
	}
	int r = gsm_swim_new(&sc, d->keys.identity, d->kr, self_addr, &env, &d->swim);
	if (r < 0) {
		gsd_err("gossip core: %s", gsm_strerror(r));
		return PHASE_FAIL;
	}
	char msg[1024];
	if (gsd_authority_start(d, msg, sizeof(msg)) < 0) {
		gsd_err("authority: %s", msg);
		return PHASE_FAIL;
	}
	if (gsd_clients_start(d) < 0)
		return PHASE_FAIL;
	gsd_advert_refresh(d, "start");
	if (!d->adv_version) {
		gsd_err("cannot publish own advert");
		return PHASE_FAIL;
	}
	gsd_import_members(d);
	if (gsd_memcache_sync(d->members, d->swim) < 0) {
		gsd_err("member cache: %s", strerror(ENOMEM));
		return PHASE_FAIL;
	}
	gsd_check_v4(d);
	gsd_reconcile_wg(d);
	return PHASE_OK;
}

/* 9. signals, periodic refresh, join */
static void start_running(struct gsd_daemon *d, const struct gsm_addr *self_addr)
{
	char a[64], v4[32] = "none", v6[64];
	start_signals(d);
	gsd_wgsync_start(d);
	gsd_format_addr(self_addr, a, sizeof(a));
	if (d->have_v4)
		inet_ntop(AF_INET, d->v4.ip, v4, sizeof(v4));
	inet_ntop(AF_INET6, d->v6.ip, v6, sizeof(v6));
	gsd_info("gossip at %s, overlay %s %s, control %s", a, v4, v6, d->cfg.control_socket);
	gsd_join_seeds(d, true);
	gsd_kick(d);
}

/* Close everything the runtime opened; the loop runs until every handle
 * (and every name resolution in the thread pool) finished. */
static void teardown_runtime(struct gsd_daemon *d)
{
	if (!d->stopping && d->swim)
		gsd_persist_now(d);
	gsd_io_stop(d);
	gsd_control_close(d->ctl);
	d->ctl = NULL;
	gsd_exit_stop(d); /* idempotent: also here when the loop never ran */
	gsd_clients_stop(d);
	gsd_gateway_stop(d->gw);
	gsd_forward_restore(&d->fwd);
	gsd_backend_close(d->be);
	uv_walk(d->loop, close_walk, NULL);
	uv_run(d->loop, UV_RUN_DEFAULT);
	uv_loop_close(d->loop);
}

static void daemon_free(struct gsd_daemon *d)
{
	gsd_backend_free(d->be);
	gsm_swim_free(d->swim);
	gsd_nat_free(d->nat);
	gsd_gateway_free(d->gw);
	gsd_exit_free(d->exitn);
	gsd_memcache_free(d->members);
	gsd_policy_state_free(d);
	free(d->rx);
	gsd_local_addrs_free(d);
	while (d->leave_waiters) {
		struct gsd_pending_leave *p = d->leave_waiters;
		d->leave_waiters = p->next;
		free(p);
	}
	gsm_keyring_free(d->kr);
	gsd_keys_clear(&d->keys);
	sodium_memzero(d, sizeof(*d));
	free(d);
}

/* the phases before the loop exists; PHASE_OK to go on */
static int setup_static(struct gsd_daemon *d, int argc, char **argv, int *rc)
{
	int p = phase_config(d, argc, argv, rc);
	if (p == PHASE_OK)
		p = phase_keyring(d);
	if (p == PHASE_OK)
		p = phase_probe(d, rc);
	if (p == PHASE_OK)
		p = phase_state(d);
	return p;
}

/* the phases on the loop; PHASE_OK when ready to run */
static int setup_runtime(struct gsd_daemon *d, uv_loop_t *loop, struct gsm_addr *self_addr, int *rc)
{
	init_runtime(d, loop);
	int p = phase_open(d, rc);
	if (p == PHASE_OK)
		p = phase_overlay(d);
	if (p == PHASE_OK)
		p = phase_core(d, self_addr);
	return p;
}

int gsd_main(int argc, char **argv)
{
	struct gsd_daemon *d = calloc(1, sizeof(*d));
	struct gsm_addr self_addr;
	int rc = GSD_EXIT_CONFIG;
	uv_loop_t loop;
	if (!d) {
		fprintf(stderr, "gossamerd: out of memory\n");
		return GSD_EXIT_RUNTIME;
	}
	if (gsm_crypto_init() < 0) {
		fprintf(stderr, "gossamerd: libsodium initialisation failed\n");
		free(d);
		return GSD_EXIT_RUNTIME;
	}
	signal(SIGPIPE, SIG_IGN);
	if (setup_static(d, argc, argv, &rc) != PHASE_OK)
		goto out;

	rc = GSD_EXIT_RUNTIME;
	uv_loop_init(&loop);
	if (setup_runtime(d, &loop, &self_addr, &rc) == PHASE_OK) {
		start_running(d, &self_addr);
		d->exit_code = GSD_EXIT_OK;
		uv_run(&loop, UV_RUN_DEFAULT);
		rc = d->exit_code;
		gsd_info("stopped");
	}
	teardown_runtime(d);
out:
	daemon_free(d);
	return rc;
}
