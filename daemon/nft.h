/*
 * daemon/nft.h - nftables tables owned by gossamerd, through libnftables.
 *
 * Each feature that needs packet rules (gateway masquerading, the exit
 * node, client restrictions) owns ONE table of its own in family inet (or
 * ip/ip6 for NAT where needed), named "gossamer_<feature>" with the
 * interface name appended for a second mesh on the host
 * (gsd_nft_table_name).  A table is always replaced as a whole in one
 * nftables transaction (create, flush by delete, define), so the kernel
 * never holds half a ruleset and rules of other tables (the operator's, a
 * firewall's, Docker's) are never read, changed or reordered.  Removing
 * a table that does not exist is not an error.
 *
 * Blocking: one netlink transaction, bounded; called from the reconcile
 * path only when the wanted text changed (callers keep the last text).
 */
#ifndef GOSSAMER_DAEMON_NFT_H
#define GOSSAMER_DAEMON_NFT_H

#include <stddef.h>

/* "gossamer_<feature>" for ifname "gsm0", "gossamer_<feature>_<ifname>"
 * otherwise (characters other than [A-Za-z0-9_] become '_').  0 or
 * -ENAMETOOLONG. */
int gsd_nft_table_name(const char *feature, const char *ifname, char *out, size_t cap);

/* Replace table `family name` (family "inet", "ip" or "ip6") by body, the
 * text between the table's braces in nft syntax (chains, sets, rules).
 * On failure nothing changed; err (may be NULL) receives libnftables'
 * message.  0, -EINVAL (bad family or name), -ENOMEM, -EIO (refused by
 * nftables: err says why). */
int gsd_nft_replace(const char *family, const char *name, const char *body, char *err,
		    size_t errcap);

/* Delete the table if it exists.  0 or -EIO. */
int gsd_nft_delete(const char *family, const char *name, char *err, size_t errcap);

/* Run `list table family name` and return the text in out (for tests and
 * `gossamer status --json` diagnostics).  0, -ENOENT (no such table), -EIO,
 * -EMSGSIZE (out too small). */
int gsd_nft_list(const char *family, const char *name, char *out, size_t cap);

#endif
