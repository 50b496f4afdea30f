/* refs.c - parsing the "<old> <new> <ref>" lines git gives a pre-receive hook. */
#include "receiver.h"

#include <string.h>

static int is_hex40(const char *s)
{
	int i;

	for (i = 0; i < 40; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int receiver_oid_is_zero(const char *oid)
{
	return strspn(oid, "0") == 40 && oid[40] == '\0';
}

int receiver_parse_ref_line(struct push_ref *out, const char *line, size_t len)
{
	size_t i, reflen;

	if (len < 83 || line[40] != ' ' || line[81] != ' ')
		return err_set("malformed pre-receive line");
	if (!is_hex40(line) || !is_hex40(line + 41))
		return err_set("malformed object id in pre-receive line");
	reflen = len - 82;
	if (reflen >= sizeof(out->ref))
		return err_set("ref name too long");
	for (i = 82; i < len; i++)
		if ((unsigned char)line[i] <= 0x20 || line[i] == 0x7f)
			return err_set("malformed ref name in pre-receive line");
	memcpy(out->old_oid, line, 40);
	out->old_oid[40] = '\0';
	memcpy(out->new_oid, line + 41, 40);
	out->new_oid[40] = '\0';
	memcpy(out->ref, line + 82, reflen);
	out->ref[reflen] = '\0';
	return 0;
}
