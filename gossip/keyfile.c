/*
 * gossip/keyfile.c - key files on disk: identity and key-ring load/save.
 *
 * The split with crypto.c is I/O versus meaning.  crypto.c knows what the
 * text of a key file says (a base64 seed; "<id> <base64 key>" lines) and
 * never touches the file system; this file knows where the text comes from
 * and goes to and nothing about its format.  Both directions go through
 * common/fileio.h, the one implementation of the secret-file rules shared
 * with the daemon and the CLI: reads refuse symlinks (-ELOOP) and files
 * group or others can access (-EACCES) and land in sodium_malloc'd memory
 * that is wiped when freed; writes are atomic and durable with mode 0600.
 * Trade-off: the text passes through one more secret buffer than a
 * parse-while-reading design would need; key files are tiny and read at
 * start and on reload, so clarity wins.
 */
#include "gossip/keyfile.h"
#include "gossip/crypto.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "common/fileio.h"

int gsm_keyfile_read(const char *path, char **text)
{
	if (!path || !text)
		return -EINVAL;
	return gsc_read_secret(path, GSM_KEYFILE_MAX, text, NULL);
}

char *gsm_keyfile_alloc(void)
{
	char *text = sodium_malloc(GSM_KEYFILE_MAX + 1);

	if (text)
		memset(text, 0, GSM_KEYFILE_MAX + 1);
	return text;
}

void gsm_keyfile_free(char *text)
{
	gsc_secret_free(text, GSM_KEYFILE_MAX);
}

int gsm_keyfile_write(const char *path, const char *text, size_t len)
{
	if (!path || (!text && len))
		return -EINVAL;
	return gsc_write_atomic(path, text, len, 0600, GSC_WRITE_DURABLE);
}

int gsm_identity_load(const char *path, struct gsm_identity **out)
{
	char *text = NULL;
	int rc;

	if (!path || !out)
		return -EINVAL;
	*out = NULL;
	rc = gsm_keyfile_read(path, &text);
	if (!rc)
		rc = gsm_identity_from_text(text, out);
	gsm_keyfile_free(text);
	return rc;
}

int gsm_identity_save(const struct gsm_identity *id, const char *path)
{
	char *text;
	size_t len;
	int rc;

	if (!id || !path)
		return -EINVAL;
	text = gsm_keyfile_alloc();
	if (!text)
		return -ENOMEM;
	rc = gsm_identity_to_text(id, text, GSM_KEYFILE_MAX + 1, &len);
	if (!rc)
		rc = gsm_keyfile_write(path, text, len);
	gsm_keyfile_free(text);
	return rc;
}

int gsm_keyring_load(const char *path, const char *cluster_name, struct gsm_keyring **out)
{
	char *text = NULL;
	int rc;

	if (!path || !cluster_name || !out)
		return -EINVAL;
	*out = NULL;
	rc = gsm_keyfile_read(path, &text);
	if (!rc)
		rc = gsm_keyring_parse(text, cluster_name, out);
	gsm_keyfile_free(text);
	return rc;
}

int gsm_keyring_save(const struct gsm_keyring *kr, const char *path)
{
	char *text;
	size_t len;
	int rc;

	if (!kr || !path)
		return -EINVAL;
	text = gsm_keyfile_alloc();
	if (!text)
		return -ENOMEM;
	rc = gsm_keyring_format(kr, text, GSM_KEYFILE_MAX + 1, &len);
	if (!rc)
		rc = gsm_keyfile_write(path, text, len);
	gsm_keyfile_free(text);
	return rc;
}
