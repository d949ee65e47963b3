/* gossip/wire_internal.h - codec internals shared by wire.c and crypto.c.
 * Not part of the public interface. */
#ifndef GOSSAMER_GOSSIP_WIRE_INTERNAL_H
#define GOSSAMER_GOSSIP_WIRE_INTERNAL_H

#include "gossip/wire.h"

/* Split a signed advert into its body bytes and signature and read the node
 * id from the body (structure checked, fields not validated). */
int gsm__advert_parts(const uint8_t *signed_adv, size_t len, const uint8_t **body,
		      size_t *body_len, const uint8_t **sig, uint8_t node_id[GSM_ID_LEN]);

#endif
