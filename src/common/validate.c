/* validate.c - checks of every name a user gives before it reaches a path, a shell
 * or a Docker call. Each function returns 0 or sets an error and returns -1. */
#include "common.h"

#include <string.h>

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

int valid_app_name(const char *name)
{
	size_t i, n;

	if (!name || !*name)
		return err_set("an app name is required");
	n = strlen(name);
	if (n > 63)
		return err_set("app name is too long (%zu characters, at most 63)", n);
	if (!is_lower_alnum(name[0]))
		goto bad;
	for (i = 1; i < n; i++)
		if (!is_lower_alnum(name[i]) && name[i] != '.' && name[i] != '-')
			goto bad;
	/* ".." would still match the character class; refuse it so that no name can
	 * ever look like a path step. */
	if (strstr(name, ".."))
		goto bad;
	return 0;
bad:
	return err_set("invalid app name '%s': use lowercase letters, digits, '.' and '-', "
		       "starting with a letter or digit",
		       name);
}

int valid_config_key(const char *key)
{
	size_t i, n;

	if (!key || !*key)
		return err_set("a config key is required");
	n = strlen(key);
	if (n > 255)
		return err_set("config key is too long (%zu characters, at most 255)", n);
	if (!(is_alnum(key[0]) && !(key[0] >= '0' && key[0] <= '9')) && key[0] != '_')
		goto bad;
	for (i = 1; i < n; i++)
		if (!is_alnum(key[i]) && key[i] != '_')
			goto bad;
	return 0;
bad:
	return err_set("invalid config key '%s': use letters, digits and '_', not starting "
		       "with a digit",
		       key);
}

int valid_domain(const char *domain)
{
	size_t i, n, label = 0;

	if (!domain || !*domain)
		return err_set("a domain is required");
	n = strlen(domain);
	if (n > 253)
		return err_set("domain is too long (%zu characters, at most 253)", n);
	for (i = 0; i < n; i++) {
		char c = domain[i];
		if (c == '.') {
			if (label == 0 || domain[i - 1] == '-')
				goto bad;
			label = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-' && !(c == '*' && i == 0 && domain[1] == '.'))
			goto bad;
		if (c == '-' && label == 0)
			goto bad;
		if (++label > 63)
			goto bad;
	}
	if (label == 0 || domain[n - 1] == '-')
		goto bad;
	return 0;
bad:
	return err_set("invalid domain '%s': give a host name such as app.example.com "
		       "(no scheme, port, path or spaces)",
		       domain);
}

int valid_key_name(const char *name)
{
	size_t i, n;

	if (!name || !*name)
		return err_set("a key name is required");
	n = strlen(name);
	if (n > 64)
		return err_set("key name is too long (%zu characters, at most 64)", n);
	if (!is_alnum(name[0]))
		goto bad;
	for (i = 1; i < n; i++)
		if (!is_alnum(name[i]) && !strchr("_.@-", name[i]))
			goto bad;
	return 0;
bad:
	return err_set("invalid key name '%s': use letters, digits, '_', '.', '@' and '-'", name);
}
