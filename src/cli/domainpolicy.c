/* domainpolicy.c - which domains a deployer may add (pure, unit-tested; domains.c
 * adds the check that no other app serves them). */
#include "cli.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Common public suffixes, for hosts without Debian's publicsuffix package: a
 * deployer must never take a whole registry (com) or a shared hosting zone. */
static const char *const builtin_suffixes[] = {
	"com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "name", "pro",
	"io", "co", "me", "tv", "cc", "ai", "app", "dev", "page", "cloud", "online", "site",
	"xyz", "top", "eu", "de", "fr", "nl", "be", "ch", "at", "it", "es", "pt", "se", "no",
	"dk", "fi", "pl", "cz", "ie", "ru", "ua", "us", "ca", "mx", "br", "ar", "au", "nz",
	"jp", "cn", "kr", "in", "sg", "hk", "tw", "za", "uk", "co.uk", "org.uk", "ac.uk",
	"gov.uk", "me.uk", "com.au", "net.au", "org.au", "co.nz", "co.jp", "ne.jp", "or.jp",
	"com.br", "com.cn", "com.mx", "co.in", "co.za", "com.sg", "com.hk", "com.tw",
	"github.io", "gitlab.io", "herokuapp.com", "netlify.app", "vercel.app", "pages.dev",
	"workers.dev", "appspot.com", "azurewebsites.net", "cloudfront.net",
	"amazonaws.com", "s3.amazonaws.com", "blogspot.com", "fly.dev", "onrender.com",
	"localhost", "local", "test", "example", "invalid", "internal", "lan", "home.arpa",
	"arpa", NULL
};

/* Is domain a rule of the public suffix list in text? Exact rules, and "*.parent"
 * unless "!domain" excepts it. */
static int psl_has(const char *text, const char *domain)
{
	const char *dot = strchr(domain, '.'), *p = text;
	size_t n = strlen(domain), pn = dot ? strlen(dot + 1) : 0;
	int wild = 0;

	while (*p) {
		size_t len = strcspn(p, "\r\n");
		if (len == n && !memcmp(p, domain, n))
			return 1;
		if (len == n + 1 && p[0] == '!' && !memcmp(p + 1, domain, n))
			return 0;
		if (dot && len == pn + 2 && p[0] == '*' && p[1] == '.' && !memcmp(p + 2, dot + 1, pn))
			wild = 1;
		p += len;
		p += strspn(p, "\r\n");
	}
	return wild;
}

int cli_domain_is_public_suffix(const char *domain, const char *psl_file)
{
	struct buf text = BUF_INIT;
	int i, hit = 0;

	for (i = 0; builtin_suffixes[i]; i++)
		if (!strcmp(domain, builtin_suffixes[i]))
			return 1;
	if (psl_file && fs_exists(psl_file) && fs_read_file(psl_file, &text, 16u << 20) == 0)
		hit = psl_has(text.buf, domain);
	err_clear();
	buf_release(&text);
	return hit;
}

/* Host names compare without case: B2.example.com is b2.example.com. */
int cli_domain_deployer_ok(const char *given, const char *app, const json_t *globals,
			   const char *psl_file)
{
	char domain[256];
	size_t i, n = strlen(given);
	json_t *g;

	if (n >= sizeof(domain))
		return err_set("invalid domain '%s'", given);
	for (i = 0; i <= n; i++)
		domain[i] = (char)tolower((unsigned char)given[i]);
	if (strchr(domain, '*'))
		return err_set("refused: deployers may not add the wildcard domain %s (an admin "
			       "may)", domain);
	json_array_foreach(globals, i, g) {
		const char *gd = json_string_value(g);
		size_t gn = gd ? strlen(gd) : 0;
		if (!gn)
			continue;
		if (!strcasecmp(domain, gd))
			return err_set("refused: %s is a global domain; deployers may not add it",
				       domain);
		/* <name>.<global> is the default domain of app <name>, whether it exists
		 * yet or not: only that app may have it. */
		if (n > gn + 1 && domain[n - gn - 1] == '.' && !strcasecmp(domain + n - gn, gd)) {
			struct buf name = BUF_INIT;
			int mine, valid;
			buf_add(&name, domain, n - gn - 1);
			mine = !strcmp(name.buf, app);
			valid = valid_app_name(name.buf) == 0;
			err_clear();
			if (!mine && valid) {
				err_set("refused: %s is the default domain of app '%s' (reserved "
					"for it even before it exists); deployers may not add it",
					domain, name.buf);
				buf_release(&name);
				return -1;
			}
			buf_release(&name);
		}
	}
	if (cli_domain_is_public_suffix(domain, psl_file))
		return err_set("refused: %s is a public suffix; deployers may not add it", domain);
	return 0;
}
