/*
 * daemon/clients.c - plain WireGuard clients attached to this gateway.
 *
 * What: a small record set (name, WireGuard key, a /32 from client_pool,
 * the prefixes the client may reach besides the overlay, creation time),
 * persisted whole in <state_dir>/clients.json through gsc_write_atomic
 * (durable: a client added and acknowledged survives a crash), and the
 * three places a record shows up at run time: a WireGuard peer on the mesh
 * interface (added by the reconcile like a static peer, so a pass never
 * removes it and a restart re-adopts it), a /32 in our advert (every member
 * routes it to us through its normal prefix handling, and the acceptance
 * policy and certificates apply to it as to any prefix), and the nftables
 * table `gossamer_clients`.
 *
 * Why the table: the client's AllowedIPs are in a file on the client, so
 * they are a wish, not a limit.  The gateway is the only place where the
 * limit can be enforced: in the forward and input hooks, a packet arriving
 * on the mesh interface from a client's /32 to anything outside what its
 * config lists (the IPv4 overlay prefix and its chosen prefixes) is counted
 * and dropped.  WireGuard itself already refuses any other source address
 * from that peer (its allowed IPs are the /32), so the source is
 * authenticated and one rule per client is enough.
 *
 * Fail closed: the table is written before a new client's peer is added;
 * if nftables refuses it, no client peer is configured in that pass.  At
 * shutdown the table stays while clients exist (their peers stay on the
 * interface when the daemon stops, so must the restriction).
 *
 * Trade-offs: the records are few (each /32 is one of the 64 prefixes an
 * advert carries), so they are a sorted array rewritten whole; addresses
 * are the first free host address, so a removed client's address is reused.
 */
#include "daemon/clients.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "daemon/daemon_int.h"
#include "daemon/forward.h"
#include "daemon/log.h"
#include "daemon/nft.h"
#include "daemon/reconcile.h"
#include "gossip/cert.h"

#define FILE_MAX  (1u << 20)
#define NFT_FEAT  "clients"
#define TEXT_MAX  (GSD_CLIENTS_MAX * (GSD_CLIENT_MAX_ALLOWED + 2) * 48 + 1024)
#define CONF_MAX  2048
#define KEEPALIVE 25

struct gsd_clients {
	struct gsd_client_rec *v; /* sorted by name */
	size_t n;
	char path[PATH_MAX];
	/* runtime */
	char table[64];	 /* gossamer_clients[_<if>] */
	char *nft_text;	 /* the body last written, NULL = not written */
	bool nft_failed; /* the last write failed (logged once) */
	/* forwarding of the mesh interface; a private table until the
	 * daemon holds the shared one (daemon/forward.h) */
	bool fwd_failed;
};

/* ------------------------------------------------------------ the set */

struct gsd_clients *gsd_clients_new(const char *path)
{
	struct gsd_clients *cs = calloc(1, sizeof(*cs));
	if (!cs)
		return NULL;
	cs->v = calloc(GSD_CLIENTS_MAX, sizeof(*cs->v));
	if (!cs->v) {
		free(cs);
		return NULL;
	}
	snprintf(cs->path, sizeof(cs->path), "%s", path);
	return cs;
}

void gsd_clients_free(struct gsd_clients *cs)
{
	if (!cs)
		return;
	free(cs->v);
	free(cs->nft_text);
	free(cs);
}

size_t gsd_clients_count(const struct gsd_clients *cs)
{
	return cs ? cs->n : 0;
}

const struct gsd_client_rec *gsd_clients_at(const struct gsd_clients *cs, size_t i)
{
	return cs && i < cs->n ? &cs->v[i] : NULL;
}

static const struct gsd_client_rec *find_name(const struct gsd_clients *cs, const char *name)
{
	for (size_t i = 0; i < cs->n; i++)
		if (!strcmp(cs->v[i].name, name))
			return &cs->v[i];
	return NULL;
}

static bool addr_taken(const struct gsd_clients *cs, const struct gsm_prefix *a)
{
	for (size_t i = 0; i < cs->n; i++)
		if (!memcmp(cs->v[i].addr.ip, a->ip, 4))
			return true;
	return false;
}

/* insert keeping the order by name (the caller checked room and names) */
static void insert_rec(struct gsd_clients *cs, const struct gsd_client_rec *r)
{
	size_t at = 0;
	while (at < cs->n && strcmp(cs->v[at].name, r->name) < 0)
		at++;
	memmove(&cs->v[at + 1], &cs->v[at], (cs->n - at) * sizeof(*cs->v));
	cs->v[at] = *r;
	cs->n++;
}

static void remove_at(struct gsd_clients *cs, size_t i)
{
	memmove(&cs->v[i], &cs->v[i + 1], (cs->n - i - 1) * sizeof(*cs->v));
	cs->n--;
}

int gsd_clients_next_addr(const struct gsd_clients *cs, const struct gsm_prefix *pool,
			  struct gsm_prefix *out)
{
	if (pool->family != 4 || pool->len > 32)
		return -ENOSPC;
	uint32_t net = (uint32_t)pool->ip[0] << 24 | (uint32_t)pool->ip[1] << 16 |
		       (uint32_t)pool->ip[2] << 8 | pool->ip[3];
	uint64_t size = 1ull << (32 - pool->len);
	uint64_t first = pool->len <= 30 ? 1 : 0, last = pool->len <= 30 ? size - 2 : size - 1;
	for (uint64_t off = first; off <= last; off++) {
		uint32_t ip = net + (uint32_t)off;
		struct gsm_prefix a = {.family = 4, .len = 32};
		a.ip[0] = ip >> 24;
		a.ip[1] = ip >> 16;
		a.ip[2] = ip >> 8;
		a.ip[3] = ip;
		if (!addr_taken(cs, &a)) {
			*out = a;
			return 0;
		}
	}
	return -ENOSPC;
}

/* "10.99.0.2" for a /32, "10.40.0.0/24" otherwise */
static void fmt_pfx(const struct gsm_prefix *p, char *buf, size_t cap)
{
	gsd_format_prefix(p, buf, cap);
	char *s = strchr(buf, '/');
	if (s && ((p->family == 4 && p->len == 32) || (p->family == 6 && p->len == 128)))
		*s = '\0';
}

static bool name_ok(const char *s)
{
	size_t l = strlen(s);
	if (l == 0 || l > GSM_MAX_NAME)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

/* ------------------------------------------------------------ the file */

static json_t *rec_to_json(const struct gsd_client_rec *r)
{
	char key[45], addr[64], pb[64];
	gsd_b64_key(r->pubkey, key);
	fmt_pfx(&r->addr, addr, sizeof(addr));
	json_t *allowed = json_array();
	for (uint8_t k = 0; allowed && k < r->n_allowed; k++) {
		gsd_format_prefix(&r->allowed[k], pb, sizeof(pb));
		json_array_append_new(allowed, json_string(pb));
	}
	return json_pack("{s:s, s:s, s:s, s:o*, s:I}", "name", r->name, "public_key", key,
			 "address", addr, "allowed_ips", allowed, "created",
			 (json_int_t)r->created);
}

static int rec_from_json(json_t *o, struct gsd_client_rec *r, char *why, size_t cap)
{
	const char *name = NULL, *key = NULL, *addr = NULL;
	json_t *allowed = NULL;
	json_int_t created = 0;
	memset(r, 0, sizeof(*r));
	if (json_unpack(o, "{s:s, s:s, s:s, s:o, s:I}", "name", &name, "public_key", &key,
			"address", &addr, "allowed_ips", &allowed, "created", &created) ||
	    !json_is_array(allowed)) {
		snprintf(why, cap,
			 "a record lacks name, public_key, address, allowed_ips or created");
		return -EINVAL;
	}
	size_t klen = 0;
	if (!name_ok(name)) {
		snprintf(why, cap, "bad client name '%.80s'", name);
		return -EINVAL;
	}
	snprintf(r->name, sizeof(r->name), "%s", name);
	if (sodium_base642bin(r->pubkey, 32, key, strlen(key), NULL, &klen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    klen != 32) {
		snprintf(why, cap, "client %s: bad public key", name);
		return -EINVAL;
	}
	if (gsd_parse_prefix(addr, &r->addr) || r->addr.family != 4 || r->addr.len != 32) {
		snprintf(why, cap, "client %s: bad address '%.60s'", name, addr);
		return -EINVAL;
	}
	size_t i;
	json_t *it;
	json_array_foreach(allowed, i, it)
	{
		if (i >= GSD_CLIENT_MAX_ALLOWED || !json_is_string(it) ||
		    gsd_parse_prefix(json_string_value(it), &r->allowed[i])) {
			snprintf(why, cap, "client %s: bad allowed_ips", name);
			return -EINVAL;
		}
		r->n_allowed = (uint8_t)(i + 1);
	}
	r->created = created;
	return 0;
}

int gsd_clients_load(struct gsd_clients *cs, char *msg, size_t msglen)
{
	json_error_t je;
	char why[200];
	json_t *root = json_load_file(cs->path, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (access(cs->path, F_OK) != 0 && errno == ENOENT)
			return 0;
		snprintf(msg, msglen, "%s: %s (line %d)", cs->path, je.text, je.line);
		return -EINVAL;
	}
	int r = 0;
	json_t *arr = json_object_get(root, "clients"), *it;
	size_t i;
	if (!json_is_array(arr) || json_array_size(arr) > GSD_CLIENTS_MAX) {
		snprintf(msg, msglen, "%s: no \"clients\" array (or more than %d)", cs->path,
			 GSD_CLIENTS_MAX);
		r = -EINVAL;
		goto out;
	}
	cs->n = 0;
	json_array_foreach(arr, i, it)
	{
		struct gsd_client_rec rec;
		r = rec_from_json(it, &rec, why, sizeof(why));
		if (r == 0 && (find_name(cs, rec.name) || addr_taken(cs, &rec.addr))) {
			snprintf(why, sizeof(why), "client %s: duplicate name or address",
				 rec.name);
			r = -EINVAL;
		}
		if (r < 0) {
			snprintf(msg, msglen, "%s: %s", cs->path, why);
			goto out;
		}
		insert_rec(cs, &rec);
	}
out:
	json_decref(root);
	return r;
}

int gsd_clients_save(const struct gsd_clients *cs)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < cs->n; i++)
		json_array_append_new(arr, rec_to_json(&cs->v[i]));
	json_t *root = json_pack("{s:i, s:o*}", "version", 1, "clients", arr);
	char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	if (!text)
		return -ENOMEM;
	size_t len = strlen(text);
	text[len] = '\n'; /* replaces the NUL: written with its length */
	int r = gsc_write_atomic(cs->path, text, len + 1, 0600, GSC_WRITE_DURABLE);
	free(text);
	return r;
}

/* ------------------------------------------------------------ runtime */

/* Clients attach to a gateway (gateway = yes, daemon/gateway.c). */
static bool is_gateway(const struct gsd_daemon *d)
{
	return d->cfg.gateway;
}

/* The IPv4 overlay prefix (what every client may reach), if any. */
static bool overlay4(const struct gsd_daemon *d, struct gsm_prefix *out)
{
	if (!d->cfg.has_ipv4_prefix)
		return false;
	*out = d->cfg.ipv4_prefix;
	return true;
}

/* The prefixes a client may reach, nested ones folded into their
 * container (nftables refuses overlapping intervals).  Returns the count. */
static size_t allowed_of(const struct gsd_daemon *d, const struct gsd_client_rec *r,
			 struct gsm_prefix *out)
{
	struct gsm_prefix all[GSD_CLIENT_MAX_ALLOWED + 1];
	size_t n = 0, m = 0;
	if (overlay4(d, &all[n]))
		n++;
	for (uint8_t k = 0; k < r->n_allowed; k++)
		if (r->allowed[k].family == 4)
			all[n++] = r->allowed[k];
	for (size_t i = 0; i < n; i++) {
		bool inside = false;
		for (size_t j = 0; j < n && !inside; j++)
			inside = j != i && gsm_prefix_contains(&all[j], &all[i]) &&
				 (!gsm_prefix_equal(&all[j], &all[i]) || j < i);
		if (!inside)
			out[m++] = all[i];
	}
	return m;
}

/* Append one client's rule to the chain text: packets from its /32 to
 * anything outside its allowed prefixes are counted and dropped. */
static int render_rule(const struct gsd_daemon *d, const struct gsd_client_rec *r, char *buf,
		       size_t cap, size_t *off)
{
	struct gsm_prefix al[GSD_CLIENT_MAX_ALLOWED + 1];
	size_t n = allowed_of(d, r, al);
	char a[64], pb[64];
	fmt_pfx(&r->addr, a, sizeof(a));
	int w;
	if (!n) /* nothing allowed: everything it sends through us is dropped */
		w = snprintf(buf + *off, cap - *off,
			     "\t\tiifname \"%s\" ip saddr %s counter drop\n", d->cfg.interface, a);
	else
		w = snprintf(buf + *off, cap - *off, "\t\tiifname \"%s\" ip saddr %s ip daddr != {",
			     d->cfg.interface, a);
	if (w < 0 || (size_t)w >= cap - *off)
		return -ENOSPC;
	*off += (size_t)w;
	for (size_t k = 0; k < n; k++) {
		gsd_format_prefix(&al[k], pb, sizeof(pb));
		w = snprintf(buf + *off, cap - *off, "%s %s%s", k ? "," : "", pb,
			     k + 1 == n ? " } counter drop\n" : "");
		if (w < 0 || (size_t)w >= cap - *off)
			return -ENOSPC;
		*off += (size_t)w;
	}
	return 0;
}

/* The body of table `inet gossamer_clients`: one rule per client in the
 * forward hook and the same in the input hook (the gateway's own other
 * addresses are not a way around the limit). */
static char *render_table(const struct gsd_daemon *d)
{
	static const char *const hooks[] = {"forward", "input"};
	char *buf = malloc(TEXT_MAX);
	size_t off = 0;
	if (!buf)
		return NULL;
	for (int h = 0; h < 2; h++) {
		off += (size_t)snprintf(buf + off, TEXT_MAX - off,
					"\tchain %s {\n\t\ttype filter hook %s priority filter; "
					"policy accept;\n",
					hooks[h], hooks[h]);
		for (size_t i = 0; i < d->clients->n; i++)
			if (render_rule(d, &d->clients->v[i], buf, TEXT_MAX, &off) < 0) {
				free(buf);
				return NULL;
			}
		off += (size_t)snprintf(buf + off, TEXT_MAX - off, "\t}\n");
	}
	return buf;
}

/* Bring the table in line; true when it holds the rules of every client
 * (or there are none). */
static bool sync_table(struct gsd_daemon *d)
{
	struct gsd_clients *cs = d->clients;
	char err[512] = "";
	if (!cs->n) {
		if (cs->nft_text) {
			gsd_nft_delete("inet", cs->table, err, sizeof(err));
			free(cs->nft_text);
			cs->nft_text = NULL;
		}
		return true;
	}
	char *want = render_table(d);
	if (!want) {
		gsd_warn("clients: cannot render the nftables table %s", cs->table);
		return false;
	}
	if (cs->nft_text && !strcmp(cs->nft_text, want)) {
		free(want);
		return true;
	}
	int r = gsd_nft_replace("inet", cs->table, want, err, sizeof(err));
	if (r < 0) {
		if (!cs->nft_failed)
			gsd_err("clients: cannot write the nftables table %s, not configuring "
				"client peers: %s",
				cs->table, err[0] ? err : strerror(-r));
		cs->nft_failed = true;
		free(want);
		return false;
	}
	if (cs->nft_failed)
		gsd_info("clients: nftables table %s written", cs->table);
	cs->nft_failed = false;
	free(cs->nft_text);
	cs->nft_text = want;
	return true;
}

/* IPv4 forwarding on the mesh interface (clients reach members through
 * us), held as GSD_FWD_CLIENTS; released at stop. */
static void forward_on(struct gsd_daemon *d)
{
	struct gsd_clients *cs = d->clients;
	if (gsd_forward_held(&d->fwd, GSD_FWD_CLIENTS, d->cfg.interface, AF_INET))
		return;
	int r = gsd_forward_enable(&d->fwd, GSD_FWD_CLIENTS, d->cfg.interface, AF_INET,
				   "plain WireGuard clients");
	if (r < 0 && !cs->fwd_failed)
		gsd_warn("clients: cannot enable forwarding on %s: %s", d->cfg.interface,
			 strerror(-r));
	cs->fwd_failed = r < 0;
}

int gsd_clients_start(struct gsd_daemon *d)
{
	char path[PATH_MAX + 32], msg[PATH_MAX + 256];
	snprintf(path, sizeof(path), "%s/%s", d->cfg.state_dir, GSD_CLIENTS_FILE);
	d->clients = gsd_clients_new(path);
	if (!d->clients) {
		gsd_err("clients: out of memory");
		return -ENOMEM;
	}
	gsd_nft_table_name(NFT_FEAT, d->cfg.interface, d->clients->table,
			   sizeof(d->clients->table));
	int r = gsd_clients_load(d->clients, msg, sizeof(msg));
	if (r < 0) {
		gsd_err("clients: %s", msg);
		return r;
	}
	if (d->clients->n)
		gsd_info("clients: %zu client%s loaded from %s", d->clients->n,
			 d->clients->n == 1 ? "" : "s", path);
	else if (d->backend_kind != GSD_BACKEND_NONE)
		gsd_nft_delete("inet", d->clients->table, msg, sizeof(msg)); /* a stale one */
	return 0;
}

void gsd_clients_stop(struct gsd_daemon *d)
{
	char err[256];
	if (!d->clients)
		return;
	if (!d->clients->n && d->clients->nft_text)
		gsd_nft_delete("inet", d->clients->table, err, sizeof(err));
	gsd_forward_release(&d->fwd, GSD_FWD_CLIENTS, NULL, AF_UNSPEC);
	gsd_clients_free(d->clients);
	d->clients = NULL;
}

int gsd_clients_reconcile(struct gsd_daemon *d, const struct gnl_wg_device *cur,
			  struct gnl_wg_device *want)
{
	struct gsd_clients *cs = d->clients;
	if (!cs || !sync_table(d) || !cs->n)
		return 0;
	forward_on(d);
	for (size_t i = 0; i < cs->n; i++) {
		const struct gsd_client_rec *rec = &cs->v[i];
		if (gnl_wg_device_find_peer(want, rec->pubkey))
			continue; /* a member or static peer with this key wins */
		struct gnl_wg_peer *np;
		int r = gnl_wg_device_add_peer(want, rec->pubkey, &np);
		if (r < 0)
			return r;
		const struct gnl_wg_peer *cp =
		    cur ? gnl_wg_device_find_peer(cur, rec->pubkey) : NULL;
		if (cp) {
			np->persistent_keepalive = cp->persistent_keepalive;
			np->has_preshared_key = cp->has_preshared_key;
			memcpy(np->preshared_key, cp->preshared_key, 32);
		}
		struct gnl_prefix g;
		gsd_prefix_to_gnl(&rec->addr, &g);
		r = gnl_wg_peer_add_allowedip(np, &g);
		if (r < 0)
			return r;
	}
	return 0;
}

size_t gsd_clients_advertise(const struct gsd_daemon *d, struct gsm_prefix *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; d->clients && i < d->clients->n && n < cap; i++)
		out[n++] = d->clients->v[i].addr;
	return n;
}

/* ------------------------------------------------------------ commands */

/* Why client_add cannot run here (NULL when it can). */
static const char *not_ready(const struct gsd_daemon *d)
{
	if (!d->cfg.has_client_pool)
		return "no client_pool configured: set client_pool = PREFIX (outside the overlay) "
		       "on this gateway";
	if (!is_gateway(d))
		return "this node is not a gateway (set gateway = yes)";
	return NULL;
}

/* The public key: given (base64) or generated (priv filled, *generated). */
static int client_key(struct gsd_daemon *d, const char *given, uint8_t pub[32], uint8_t priv[32],
		      bool *generated, char *why, size_t cap)
{
	size_t klen = 0;
	*generated = !given;
	if (!given) {
		gsd_wgkey_generate(priv);
		gsd_wgkey_public(priv, pub);
	} else if (sodium_base642bin(pub, 32, given, strlen(given), NULL, &klen, NULL,
				     sodium_base64_VARIANT_ORIGINAL) ||
		   klen != 32) {
		snprintf(why, cap, "public_key: not a base64 WireGuard key (44 characters)");
		return -EINVAL;
	}
	for (size_t i = 0; i < d->clients->n; i++)
		if (!memcmp(d->clients->v[i].pubkey, pub, 32)) {
			snprintf(why, cap, "client %s already has this public key",
				 d->clients->v[i].name);
			return -EEXIST;
		}
	const struct gsd_member *m =
	    d->members ? gsd_memcache_find_wgkey(d->members, pub, NULL) : NULL;
	if (!memcmp(pub, d->keys.wg_public, 32) || m) {
		snprintf(why, cap, "public key is the WireGuard key of member %s",
			 m ? m->name : d->cfg.name);
		return -EEXIST;
	}
	return 0;
}

/* allowed_ips: an array of IPv4 prefixes (none: the overlay only) */
static int client_allowed(const json_t *arr, struct gsd_client_rec *r, char *why, size_t cap)
{
	size_t i;
	json_t *it;
	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > GSD_CLIENT_MAX_ALLOWED) {
		snprintf(why, cap, "allowed_ips: an array of at most %d prefixes",
			 GSD_CLIENT_MAX_ALLOWED);
		return -EINVAL;
	}
	json_array_foreach(arr, i, it)
	{
		const char *s = json_string_value(it);
		struct gsm_prefix p;
		int e = s ? gsd_parse_prefix(s, &p) : -EINVAL;
		if (e < 0 || p.family != 4 || p.len == 0) {
			snprintf(why, cap,
				 "allowed_ips: '%.60s' is not an IPv4 prefix%s (client addresses "
				 "are IPv4; a default route is not offered)",
				 s ? s : "?", e == -EDOM ? " (host bits set)" : "");
			return -EINVAL;
		}
		r->allowed[r->n_allowed++] = p;
	}
	return 0;
}

/* Where the client reaches us: endpoint (HOST:PORT as given), else our
 * first configured endpoint, else the first one observed. */
static int client_endpoint(const struct gsd_daemon *d, const char *given, char *out, size_t cap,
			   char *why, size_t wcap)
{
	char host[256];
	uint16_t port;
	if (given) {
		if (strpbrk(given, " \t\r\n") ||
		    gsd_split_hostport(given, host, sizeof(host), &port, d->cfg.wg_port) < 0) {
			snprintf(why, wcap, "endpoint: '%.80s' is not HOST:PORT", given);
			return -EINVAL;
		}
		snprintf(out, cap, "%s", given);
		return 0;
	}
	if (d->adv.n_endpoints) {
		struct gsm_addr a = d->adv.endpoints[0].addr;
		if (!a.port)
			a.port = d->cfg.wg_port;
		gsd_format_addr(&a, out, cap);
		return 0;
	}
	snprintf(why, wcap,
		 "no public endpoint of this gateway is known: give one (endpoint, "
		 "`--endpoint HOST:PORT`)");
	return -EADDRNOTAVAIL;
}

/* authority mode: our certificate must cover the client's /32 */
static int client_covered(struct gsd_daemon *d, const struct gsm_prefix *a, char *why, size_t cap)
{
	int mode = gsd_config_authority_mode(&d->cfg);
	char ab[64];
	fmt_pfx(a, ab, sizeof(ab));
	if (mode == GSD_AUTH_MODE_OFF)
		return 0;
	if (d->auth.self.status == GSM_CERT_VALID && gsm_cert_allows_prefix(&d->auth.self.leaf, a))
		return 0;
	if (mode == GSD_AUTH_MODE_WARN) {
		gsd_warn("clients: this node's certificate does not cover client address %s "
			 "(authority_mode warn: members report it)",
			 ab);
		return 0;
	}
	if (d->auth.self.status != GSM_CERT_VALID)
		snprintf(why, cap,
			 "this gateway has no valid certificate (%s): members would "
			 "refuse the client address %s",
			 gsm_cert_status_name(d->auth.self.status), ab);
	else
		snprintf(why, cap,
			 "this gateway's certificate does not cover the client address %s: "
			 "issue it with a --prefix covering client_pool",
			 ab);
	return -EPERM;
}

/* The wg-quick file of a client. */
static void client_config(const struct gsd_daemon *d, const struct gsd_client_rec *r,
			  const char *priv_b64, const char *endpoint, char *out, size_t cap)
{
	struct gsm_prefix al[GSD_CLIENT_MAX_ALLOWED + 1];
	size_t n = allowed_of(d, r, al), off;
	char addr[64], key[45], pb[64];
	fmt_pfx(&r->addr, addr, sizeof(addr));
	gsd_b64_key(d->keys.wg_public, key);
	off = (size_t)snprintf(out, cap,
			       "# gossamer client %s (gateway %s)\n[Interface]\n%s%s\n"
			       "Address = %s/32\n\n[Peer]\nPublicKey = %s\nEndpoint = %s\n"
			       "AllowedIPs =",
			       r->name, d->cfg.name,
			       priv_b64 ? "PrivateKey = "
					: "# PrivateKey = <the private key of "
					  "this client's public key>",
			       priv_b64 ? priv_b64 : "", addr, key, endpoint);
	for (size_t k = 0; k < n && off < cap; k++) {
		gsd_format_prefix(&al[k], pb, sizeof(pb));
		off += (size_t)snprintf(out + off, cap - off, "%s %s", k ? "," : "", pb);
	}
	if (off < cap)
		snprintf(out + off, cap - off, "\nPersistentKeepalive = %d\n", KEEPALIVE);
}

/* Validate the request into rec (everything but the address). */
static int client_build(struct gsd_daemon *d, json_t *req, struct gsd_client_rec *rec,
			uint8_t priv[32], bool *generated, char *why, size_t cap)
{
	const char *name = json_string_value(json_object_get(req, "name"));
	const char *key = json_string_value(json_object_get(req, "public_key"));
	memset(rec, 0, sizeof(*rec));
	if (!name || !name_ok(name)) {
		snprintf(why, cap, "name: '%.80s' is not a valid name (1-%d of A-Z a-z 0-9 . _ -)",
			 name ? name : "", GSM_MAX_NAME);
		return -EINVAL;
	}
	if (find_name(d->clients, name)) {
		snprintf(why, cap, "a client named %s exists already", name);
		return -EEXIST;
	}
	snprintf(rec->name, sizeof(rec->name), "%s", name);
	int r = client_allowed(json_object_get(req, "allowed_ips"), rec, why, cap);
	if (r == 0)
		r = client_key(d, key, rec->pubkey, priv, generated, why, cap);
	return r;
}

/* A free address (pool and advert room), covered by our certificate. */
static int client_address(struct gsd_daemon *d, struct gsm_prefix *a, char *why, size_t cap)
{
	char pb[64];
	gsd_format_prefix(&d->cfg.client_pool, pb, sizeof(pb));
	if (d->cfg.n_prefixes + d->clients->n >= GSM_MAX_PREFIXES) {
		snprintf(why, cap,
			 "no room for another client: an advert carries %d prefixes "
			 "(advertise_prefixes %u + clients %zu)",
			 GSM_MAX_PREFIXES, d->cfg.n_prefixes, d->clients->n);
		return -ENOSPC;
	}
	if (gsd_clients_next_addr(d->clients, &d->cfg.client_pool, a) < 0) {
		snprintf(why, cap, "client pool %s is exhausted", pb);
		return -ENOSPC;
	}
	return client_covered(d, a, why, cap);
}

static json_t *add_reply(struct gsd_daemon *d, const struct gsd_client_rec *rec,
			 const uint8_t priv[32], bool generated, const char *endpoint)
{
	char priv_b64[45] = "", *conf = malloc(CONF_MAX);
	json_t *o = conf ? rec_to_json(rec) : NULL;
	if (o) {
		if (generated)
			gsd_b64_key(priv, priv_b64);
		client_config(d, rec, generated ? priv_b64 : NULL, endpoint, conf, CONF_MAX);
		json_object_set_new(o, "endpoint", json_string(endpoint));
		if (generated)
			json_object_set_new(o, "private_key", json_string(priv_b64));
		json_object_set_new(o, "config", json_string(conf));
		sodium_memzero(conf, CONF_MAX);
	}
	sodium_memzero(priv_b64, sizeof(priv_b64));
	free(conf);
	return o;
}

void gsd_cmd_client_add(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req)
{
	struct gsd_client_rec rec;
	uint8_t priv[32];
	bool generated = false;
	char why[400], endpoint[300];
	const char *nr = not_ready(d);
	int r = 0;
	if (nr) {
		gsd_ctl_reply_err(c, "EOPNOTSUPP", "%s", nr);
		return;
	}
	r = client_build(d, req, &rec, priv, &generated, why, sizeof(why));
	if (r == 0)
		r = client_endpoint(d, json_string_value(json_object_get(req, "endpoint")),
				    endpoint, sizeof(endpoint), why, sizeof(why));
	if (r == 0)
		r = client_address(d, &rec.addr, why, sizeof(why));
	if (r < 0)
		goto out;
	rec.created = gsd_now_unix();
	insert_rec(d->clients, &rec);
	r = gsd_clients_save(d->clients);
	if (r < 0) {
		remove_at(d->clients, (size_t)(find_name(d->clients, rec.name) - d->clients->v));
		snprintf(why, sizeof(why), "cannot write %.300s: %s", d->clients->path,
			 strerror(-r));
		goto out;
	}
	char ab[64];
	fmt_pfx(&rec.addr, ab, sizeof(ab));
	gsd_info("clients: added %s at %s", rec.name, ab);
	gsd_advert_refresh(d, "client added");
	gsd_reconcile_wg(d);
	gsd_ctl_reply_ok(c, add_reply(d, &rec, priv, generated, endpoint));
out:
	if (r < 0)
		gsd_ctl_reply_err(c, gsd_errno_name(r), "%s", why);
	sodium_memzero(priv, sizeof(priv));
}

void gsd_cmd_client_list(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req)
{
	(void)req;
	json_t *arr = json_array();
	for (size_t i = 0; arr && d->clients && i < d->clients->n; i++)
		json_array_append_new(arr, rec_to_json(&d->clients->v[i]));
	gsd_ctl_reply_ok(c, arr);
}

void gsd_cmd_client_remove(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req)
{
	const char *name = json_string_value(json_object_get(req, "name"));
	const struct gsd_client_rec *rec = name && d->clients ? find_name(d->clients, name) : NULL;
	if (!rec) {
		gsd_ctl_reply_err(c, "ENOENT", "no client named %.80s",
				  name ? name : "(none given)");
		return;
	}
	struct gsd_client_rec old = *rec;
	remove_at(d->clients, (size_t)(rec - d->clients->v));
	int r = gsd_clients_save(d->clients);
	if (r < 0) {
		insert_rec(d->clients, &old);
		gsd_ctl_reply_err(c, gsd_errno_name(r), "cannot write %s: %s", d->clients->path,
				  strerror(-r));
		return;
	}
	gsd_info("clients: removed %s", old.name);
	gsd_advert_refresh(d, "client removed");
	gsd_reconcile_wg(d);
	gsd_ctl_reply_ok(c, json_pack("{s:s}", "name", old.name));
}
