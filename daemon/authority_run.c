/*
 * daemon/authority_run.c - authority mode in the running daemon.
 *
 * The gossip core verifies every member's certificate chain, holds and
 * gossips the revocations, and tells the daemon what changed (events CERT
 * and REVOCATION, gossip/swim.h).  This file is the daemon's side:
 *
 *  - configuration -> core: the authority keys and the mode, at start and
 *    on every reload (gsm_swim_set_authority re-evaluates every member);
 *    the member cache is told the mode too (require mode hides the flags a
 *    certificate does not allow, daemon/members.h);
 *  - our own chain: read from the certificate file, or issued with the
 *    join key when the file is missing, not valid or past two thirds of
 *    its lifetime (daemon/authority.c); it goes into our advert
 *    (advert.c), so renewing is "new file + reload": a new advert version,
 *    nothing else changes, the WireGuard interface and its peers are not
 *    touched, no tunnel drops.  A missing, invalid or soon expiring own
 *    certificate is logged at start and on reload with the reason;
 *  - revocations: loaded from <state_dir>/revocations into the core before
 *    joining, written back (atomically, debounced 500 ms) after the core
 *    accepted new ones, and immediately after a `revoke` command;
 *  - logs: one WARN per member and certificate status change, and per
 *    uncertified claim, through the daemon's rate limiter so that a
 *    flapping member cannot flood the log.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon_int.h"
#include "daemon/log.h"

#define AUTH_LOG_WINDOW_MS 60000
#define REV_SAVE_DELAY_MS  500

/* ------------------------------------------------------------ own chain */

static void check_chain(const struct gsd_config *c, const uint8_t self[GSM_ID_LEN],
			const struct gsd_chain *ch, struct gsm_cert_info *info, char *why,
			size_t cap)
{
	struct gsm_bytes b[GSM_CERT_CHAIN_MAX];
	struct gsm_cert_verifier v = {
	    .authorities = (const uint8_t(*)[GSM_ID_LEN])c->authorities,
	    .n_authorities = c->n_authorities,
	    .now_s = (uint64_t)gsd_now_unix(),
	};
	why[0] = 0;
	gsm_cert_chain_check(&v, self, c->name, b, gsd_chain_bytes(ch, b), info, why, cap);
}

static int issue(struct gsd_daemon *d, const struct gsd_config *c, const char *path,
		 struct gsd_chain *out, char *msg, size_t msglen)
{
	struct gsd_join_key jk;
	char why[160] = "";
	int r = gsd_join_key_load(c->join_key, &jk, msg, msglen);
	if (r < 0)
		return r;
	struct gsd_issue_request req = {
	    .name = c->name,
	    .prefixes = c->prefixes,
	    .n_prefixes = c->n_prefixes,
	    .labels = c->labels,
	    .n_labels = c->n_labels,
	    .roles = (c->relay ? GSM_ROLE_RELAY : 0) | (c->gateway ? GSM_ROLE_GATEWAY : 0),
	    .has_overlay4 = c->has_ipv4_address,
	    .now_s = (uint64_t)gsd_now_unix(),
	};
	memcpy(req.node_id, gsm_identity_public(d->keys.identity), GSM_ID_LEN);
	if (c->has_ipv4_address) {
		req.overlay4.family = 4;
		req.overlay4.len = 32;
		memcpy(req.overlay4.ip, c->ipv4_address.ip, 4);
	}
	r = gsd_self_issue(&jk, &req, out, why, sizeof(why));
	gsd_join_key_clear(&jk);
	if (r < 0) {
		snprintf(msg, msglen, "join key %s cannot issue this node's certificate: %s",
			 c->join_key, why);
		return r;
	}
	r = gsd_chain_save(path, out);
	if (r < 0)
		gsd_warn("cannot write the issued certificate to %s: %s", path, strerror(-r));
	gsd_info("issued own certificate with join key %s (written to %s)", c->join_key, path);
	return 0;
}

/* The chain for configuration c: the file (if any), or a new one from the
 * join key when the file's is not good enough.  Only join key problems are
 * errors; a missing or broken file without a join key is reported by
 * warn_self (we run uncertified, the others decide). */
static int chain_for(struct gsd_daemon *d, const struct gsd_config *c, struct gsd_chain *out,
		     char *msg, size_t msglen)
{
	char path[PATH_MAX + 16], why[160], err[512] = "";
	struct gsm_cert_info *info = malloc(sizeof(*info));
	int r = 0;
	if (!info)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	/* loaded in every mode: a node migrating to authority mode carries
	 * its certificate before the others require it */
	gsd_config_certificate_path(c, path, sizeof(path));
	r = gsd_chain_load(path, out, err, sizeof(err));
	if (r < 0 && r != -ENOENT && !c->join_key[0])
		gsd_warn("own certificate: %s", err);
	r = 0;
	if (!c->join_key[0])
		goto out;
	check_chain(c, gsm_identity_public(d->keys.identity), out, info, why, sizeof(why));
	if (!gsd_chain_needs_issue(info, (uint64_t)gsd_now_unix()))
		goto out;
	if (info->status != GSM_CERT_VALID) {
		r = issue(d, c, path, out, msg, msglen);
		goto out;
	}
	/* a renewal: when the join key can no longer issue (it expired, or
	 * the configuration left its limits), keep the valid certificate */
	struct gsd_chain *keep = malloc(sizeof(*keep));
	if (!keep) {
		r = -ENOMEM;
		goto out;
	}
	*keep = *out;
	if (issue(d, c, path, out, msg, msglen) < 0) {
		gsd_warn("cannot renew the own certificate (%s); keeping the current one, "
			 "valid for %" PRIu64 " more hours",
			 msg, (info->expires_s - (uint64_t)gsd_now_unix()) / 3600);
		*out = *keep;
		msg[0] = '\0';
	}
	free(keep);
out:
	free(info);
	return r;
}

/* the WARN of start and reload: no usable certificate, or expiring soon */
static void warn_self(struct gsd_daemon *d)
{
	const struct gsm_cert_info *i = &d->auth.self;
	uint64_t now = (uint64_t)gsd_now_unix();
	if (gsd_config_authority_mode(&d->cfg) == GSD_AUTH_MODE_OFF)
		return;
	if (!d->auth.chain.n) {
		char path[PATH_MAX + 16];
		gsd_config_certificate_path(&d->cfg, path, sizeof(path));
		gsd_warn("own certificate missing (%s): other members in require mode will not "
			 "admit this node",
			 path);
	} else if (i->status != GSM_CERT_VALID) {
		gsd_warn("own certificate %s: %s", gsm_cert_status_name(i->status),
			 d->auth.self_why[0] ? d->auth.self_why : "no reason given");
	} else if (i->expires_s < now + GSD_CERT_WARN_S) {
		gsd_warn("own certificate expires in %" PRIu64 " h (serial %016" PRIx64
			 "): renew it (new file + reload)",
			 (i->expires_s - now) / 3600, i->leaf.serial);
	}
}

/* d->cfg in effect: core, cache, chain, status */
void gsd_authority_apply(struct gsd_daemon *d, const struct gsd_chain *chain)
{
	int mode = gsd_config_authority_mode(&d->cfg);
	if (d->swim) {
		int r = gsm_swim_set_authority(d->swim, (enum gsm_authority_mode)mode,
					       (const uint8_t(*)[GSM_ID_LEN])d->cfg.authorities,
					       d->cfg.n_authorities);
		if (r < 0)
			gsd_err("authority: core refused the keys: %s", gsm_strerror(r));
	}
	if (d->members)
		gsd_memcache_set_authority(d->members, mode);
	if (chain != &d->auth.chain)
		d->auth.chain = *chain;
	check_chain(&d->cfg, gsm_identity_public(d->keys.identity), &d->auth.chain, &d->auth.self,
		    d->auth.self_why, sizeof(d->auth.self_why));
	warn_self(d);
}

int gsd_authority_prepare(struct gsd_daemon *d, const struct gsd_config *nc,
			  struct gsd_chain *chain, char *msg, size_t msglen)
{
	return chain_for(d, nc, chain, msg, msglen);
}

/* ------------------------------------------------------------ revocations */

static void collect_rev(void *ctx, const uint8_t *rev, size_t len)
{
	(void)gsd_revlist_add(ctx, rev, len);
}

void gsd_authority_persist(struct gsd_daemon *d)
{
	char path[PATH_MAX + 32];
	struct gsd_revlist l = {0};
	if (!d->auth.revs_dirty || !d->swim)
		return;
	snprintf(path, sizeof(path), "%s/%s", d->cfg.state_dir, GSD_REVOCATIONS_FILE);
	gsm_swim_foreach_revocation(d->swim, collect_rev, &l);
	int r = l.n == gsm_swim_revocation_count(d->swim) ? gsd_revlist_save(path, &l) : -ENOMEM;
	if (r < 0)
		gsd_err("cannot write %s: %s", path, strerror(-r));
	else
		d->auth.revs_dirty = false;
	gsd_revlist_clear(&l);
}

static void on_rev_timer(uv_timer_t *t)
{
	gsd_authority_persist(t->data);
}

static void schedule_rev_save(struct gsd_daemon *d)
{
	d->auth.revs_dirty = true;
	if (!d->stopping && d->loop && !uv_is_active((uv_handle_t *)&d->auth.rev_timer))
		uv_timer_start(&d->auth.rev_timer, on_rev_timer, REV_SAVE_DELAY_MS, 0);
}

/* the file into the core; those the core no longer takes (expired,
 * authority removed) make the file be rewritten */
static int load_revocations(struct gsd_daemon *d, char *msg, size_t msglen)
{
	char path[PATH_MAX + 32];
	struct gsd_revlist l = {0};
	size_t taken = 0;
	snprintf(path, sizeof(path), "%s/%s", d->cfg.state_dir, GSD_REVOCATIONS_FILE);
	int r = gsd_revlist_load(path, &l, msg, msglen);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		size_t n = strlen(msg);
		snprintf(msg + n, msglen - n,
			 " (fix or remove it: the cluster gossips the revocations again)");
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		int a = gsm_swim_add_revocation(d->swim, l.rev[i], l.len[i]);
		if (a == 0 || a == -EEXIST)
			taken++;
	}
	if (taken != l.n)
		d->auth.revs_dirty = true;
	gsd_info("revocations: %zu loaded from %s (%zu dropped: expired or unknown authority)",
		 taken, path, l.n - taken);
out:
	gsd_revlist_clear(&l);
	return r;
}

int gsd_authority_start(struct gsd_daemon *d, char *msg, size_t msglen)
{
	struct gsd_chain *chain = malloc(sizeof(*chain));
	int r = -ENOMEM;
	if (!chain) {
		snprintf(msg, msglen, "out of memory");
		goto out;
	}
	uv_timer_init(d->loop, &d->auth.rev_timer);
	d->auth.rev_timer.data = d;
	gsd_ratelimit_init(&d->auth.rl, AUTH_LOG_WINDOW_MS);
	r = chain_for(d, &d->cfg, chain, msg, msglen);
	if (r < 0)
		goto out;
	gsd_authority_apply(d, chain);
	r = load_revocations(d, msg, msglen);
out:
	free(chain);
	return r;
}

/* ------------------------------------------------------------ logs */

/* a rate-limiter key per member: the id's first bytes as an address */
static bool log_allowed(struct gsd_daemon *d, const uint8_t id[GSM_ID_LEN], int reason)
{
	struct gsm_addr a = {.family = 6};
	memcpy(a.ip, id, sizeof(a.ip));
	if (!d->auth.rl.window_ms)
		gsd_ratelimit_init(&d->auth.rl, AUTH_LOG_WINDOW_MS);
	return gsd_ratelimit_allow(&d->auth.rl, &a, reason, gsd_now_ms(), NULL);
}

static const char *member_label(struct gsd_daemon *d, const uint8_t id[GSM_ID_LEN], char *buf,
				size_t cap)
{
	const struct gsd_member *r = gsd_memcache_find(d->members, id);
	char sid[17];
	gsd_short_id(id, sid);
	snprintf(buf, cap, "%s", r && r->has_advert ? r->name : sid);
	return buf;
}

static void log_claim(struct gsd_daemon *d, const uint8_t id[GSM_ID_LEN], int key, const char *what,
		      const char *name, bool accepted)
{
	d->auth.claims_uncertified++;
	if (!log_allowed(d, id, 1000 + key))
		return;
	if (accepted)
		gsd_warn("uncertified claim %s from %s accepted (authority_mode warn)", what, name);
	else
		gsd_warn("refused claim %s from %s: uncertified", what, name);
}

void gsd_authority_note_member(struct gsd_daemon *d, const struct gsd_member *m)
{
	int mode = gsd_config_authority_mode(&d->cfg);
	char what[GSM_MAX_LABEL_KEY + GSM_MAX_LABEL_VALUE + 16];
	if (mode == GSD_AUTH_MODE_OFF || m->is_self || !m->has_cert)
		return;
	bool warn = mode != GSD_AUTH_MODE_REQUIRE;
	for (uint8_t i = 0; i < m->n_overlay; i++)
		if (m->uncert_overlay & (1u << i)) {
			gsd_format_prefix(&m->overlay[i], what, sizeof(what));
			log_claim(d, m->id, 300 + i, what, m->name, warn);
		}
	for (uint8_t i = 0; i < m->n_prefixes; i++)
		if (m->uncert_prefixes & (1ull << i)) {
			gsd_format_prefix(&m->prefixes[i], what, sizeof(what));
			log_claim(d, m->id, 200 + i, what, m->name, warn);
		}
	for (uint8_t i = 0; i < m->n_labels; i++)
		if (m->uncert_labels & (1u << i)) {
			snprintf(what, sizeof(what), "label %s=%s", m->labels[i].key,
				 m->labels[i].value);
			log_claim(d, m->id, i, what, m->name, warn);
		}
	if (m->uncert_flags & GSM_ADV_RELAY)
		log_claim(d, m->id, 99, "relay", m->name, warn);
	if (m->uncert_flags & GSM_ADV_GATEWAY)
		log_claim(d, m->id, 98, "gateway", m->name, warn);
	if (m->uncert_flags & GSM_ADV_EXIT)
		log_claim(d, m->id, 97, "exit", m->name, warn);
}

static void on_cert_event(struct gsd_daemon *d, const struct gsm_swim_member *m)
{
	char name[GSM_MAX_NAME + 24];
	const char *st = gsm_cert_status_name((enum gsm_cert_status)m->cert_status);
	if (m->is_self) {
		if (m->cert_status == GSM_CERT_VALID)
			gsd_info("own certificate: valid");
		else
			gsd_warn("own certificate: %s", st);
		return;
	}
	member_label(d, m->id, name, sizeof(name));
	if (m->cert_status == GSM_CERT_VALID)
		gsd_info("member %s: certificate valid", name);
	else if (log_allowed(d, m->id, m->cert_status))
		gsd_warn("member %s: certificate %s", name, st);
}

static void on_revocation(struct gsd_daemon *d, const uint8_t *rev, size_t len)
{
	struct gsm_revocation r;
	char what[64] = "?";
	if (rev && gsm_revocation_decode(rev, len, &r) == 0) {
		if (r.has_serial) {
			snprintf(what, sizeof(what), "serial %016" PRIx64, r.serial);
		} else {
			char k[45];
			gsd_b64_key(r.subject, k);
			snprintf(what, sizeof(what), "subject %s", k);
		}
	}
	gsd_info("revocation of %s accepted (%zu held)", what,
		 d->swim ? gsm_swim_revocation_count(d->swim) : 0);
	schedule_rev_save(d);
}

void gsd_authority_on_event(struct gsd_daemon *d, const struct gsm_swim_event *ev)
{
	if (ev->type == GSM_SWIM_EV_CERT && ev->member)
		on_cert_event(d, ev->member);
	else if (ev->type == GSM_SWIM_EV_REVOCATION)
		on_revocation(d, ev->revocation, ev->revocation_len);
}

/* ------------------------------------------------------------ control */

static const char *revoke_error(int r)
{
	switch (r) {
	case -EKEYREJECTED:
		return "bad signature or unknown authority";
	case -ESTALE:
		return "expired";
	case -ENOSPC:
		return "revocation table full";
	default:
		return "malformed";
	}
}

void gsd_cmd_revoke(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req)
{
	uint8_t buf[GSM_REVOCATION_MAX];
	size_t len = 0;
	const char *b64 = json_string_value(json_object_get(req, "revocation"));
	int r = -EBADMSG;
	if (b64 && gsm_b64_decode(b64, buf, sizeof(buf), &len) == 0 && len > 0)
		r = gsm_swim_add_revocation(d->swim, buf, len);
	if (r < 0 && r != -EEXIST) {
		gsd_ctl_reply_err(c, gsd_errno_name(r), "%s", revoke_error(r));
		return;
	}
	if (r == 0) {
		d->auth.revs_dirty = true;
		gsd_authority_persist(d); /* durable before we answer */
		gsd_schedule_refresh(d);
		gsd_kick(d);
	}
	json_t *o = json_object();
	json_object_set_new(o, "new", json_boolean(r == 0));
	gsd_ctl_reply_ok(c, o);
}

/* ------------------------------------------------------------ views */

static void add_role(void *ctx, const char *role)
{
	json_array_append_new(ctx, json_string(role));
}

static json_t *cert_json(uint8_t status, uint64_t serial, uint64_t expires, uint32_t roles)
{
	json_t *o = json_object(), *r = json_array();
	char s[17];
	bool has = status != GSM_CERT_NONE && status != GSM_CERT_INVALID;
	snprintf(s, sizeof(s), "%016" PRIx64, serial);
	json_object_set_new(o, "status",
			    json_string(gsm_cert_status_name((enum gsm_cert_status)status)));
	json_object_set_new(o, "serial", has ? json_string(s) : json_null());
	json_object_set_new(o, "expires", has ? json_integer((json_int_t)expires) : json_null());
	if (has)
		gsd_roles_foreach(roles, add_role, r);
	json_object_set_new(o, "roles", r);
	return o;
}

json_t *gsd_view_authority(struct gsd_daemon *d)
{
	struct gsm_swim_stats st;
	json_t *o = json_object(), *keys = json_array();
	char k[45];
	gsm_swim_stats(d->swim, &st);
	for (int i = 0; i < d->cfg.n_authorities; i++) {
		gsd_b64_key(d->cfg.authorities[i], k);
		json_array_append_new(keys, json_string(k));
	}
	json_object_set_new(
	    o, "mode", json_string(gsd_authority_mode_name(gsd_config_authority_mode(&d->cfg))));
	json_object_set_new(o, "keys", keys);
	json_object_set_new(o, "revocations", json_integer((json_int_t)st.revocations));
	json_object_set_new(o, "certs_refused", json_integer((json_int_t)st.certs_refused));
	json_object_set_new(o, "claims_uncertified",
			    json_integer((json_int_t)d->auth.claims_uncertified));
	/* our status as the core sees it (revocations included) when it has one */
	const struct gsm_cert_info *i = &d->auth.self;
	const struct gsd_member *self =
	    gsd_memcache_find(d->members, gsm_identity_public(d->keys.identity));
	uint8_t status = (uint8_t)i->status;
	if (self && gsd_config_authority_mode(&d->cfg) != GSD_AUTH_MODE_OFF && d->auth.chain.n)
		status = self->cert_status;
	json_object_set_new(o, "self",
			    cert_json(status, i->leaf.serial, i->expires_s, i->leaf.roles));
	return o;
}

json_t *gsd_view_cert(const struct gsm_swim_member *sm, const struct gsd_member *m)
{
	json_t *o = cert_json(sm->cert_status, sm->cert_serial, sm->cert_expires_s, sm->cert_roles);
	if (!m) {
		json_object_set_new(o, "via_join_key", json_false());
		json_object_set_new(o, "uncertified", json_array());
		return o;
	}
	json_object_set_new(o, "via_join_key", json_boolean(m->cert_via_join));
	json_t *u = json_array();
	char buf[GSM_MAX_LABEL_KEY + GSM_MAX_LABEL_VALUE + 16];
	for (uint8_t k = 0; k < m->n_overlay; k++)
		if (m->uncert_overlay & (1u << k)) {
			gsd_format_prefix(&m->overlay[k], buf, sizeof(buf));
			json_array_append_new(u, json_string(buf));
		}
	for (uint8_t k = 0; k < m->n_prefixes; k++)
		if (m->uncert_prefixes & (1ull << k)) {
			gsd_format_prefix(&m->prefixes[k], buf, sizeof(buf));
			json_array_append_new(u, json_string(buf));
		}
	for (uint8_t k = 0; k < m->n_labels; k++)
		if (m->uncert_labels & (1u << k)) {
			snprintf(buf, sizeof(buf), "label %s=%s", m->labels[k].key,
				 m->labels[k].value);
			json_array_append_new(u, json_string(buf));
		}
	if (m->uncert_flags & GSM_ADV_RELAY)
		json_array_append_new(u, json_string("relay"));
	if (m->uncert_flags & GSM_ADV_GATEWAY)
		json_array_append_new(u, json_string("gateway"));
	if (m->uncert_flags & GSM_ADV_EXIT)
		json_array_append_new(u, json_string("exit"));
	json_object_set_new(o, "uncertified", u);
	return o;
}
