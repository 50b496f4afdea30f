/* certs.c - `certs:add|remove|report`: an app's TLS certificate, kept by the router
 * (PUT/DELETE/GET /apps/<app>/cert on its control socket). */
#include "cli.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define CERT_FILE_MAX (1024 * 1024)

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	return buf_add(arg, data, size * n) < 0 ? 0 : size * n;
}

/* One request to the router's control API. Returns the HTTP status (the body,
 * JSON, in *reply), or -1 with err_set() when the router cannot be reached. */
static long router_call(const char *method, const char *path, const char *body, json_t **reply)
{
	struct buf url = BUF_INIT, out = BUF_INIT;
	struct curl_slist *hdrs = NULL;
	CURL *h = curl_easy_init();
	long status = -1;
	CURLcode rc;

	*reply = NULL;
	if (!h || buf_addf(&url, "http://router%s", path) < 0) {
		err_set("out of memory");
		goto out;
	}
	buf_init(&out, 1024 * 1024);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, wharf_router_socket());
	curl_easy_setopt(h, CURLOPT_URL, url.buf);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
	if (body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	if ((rc = curl_easy_perform(h)) != CURLE_OK) {
		err_set("cannot reach the router on %s: %s", wharf_router_socket(),
			curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	*reply = json_loadb(out.buf, out.len, 0, NULL);
out:
	curl_slist_free_all(hdrs);
	if (h)
		curl_easy_cleanup(h);
	buf_release(&url);
	buf_release(&out);
	return status;
}

/* err_set() from the router's {"error": …} answer. */
static int router_error(long status, json_t *reply)
{
	const char *msg = json_string_value(json_object_get(reply, "error"));

	return err_set("%s", msg ? msg : status == 404 ? "not found" : "the router refused");
}

static void print_info(const json_t *info)
{
	json_t *names = json_object_get(info, "names"), *v;
	struct buf list = BUF_INIT;
	size_t i;

	json_array_foreach(names, i, v) {
		if ((list.len && buf_addstr(&list, " ") < 0) ||
		    buf_addstr(&list, json_string_value(v) ? json_string_value(v) : "") < 0)
			break;
	}
	printf("       Ssl enabled:                 true\n"
	       "       Ssl hostnames:               %s\n"
	       "       Ssl expires at:              %s\n"
	       "       Ssl issuer:                  %s\n"
	       "       Ssl subject:                 %s\n",
	       list.buf, json_string_value(json_object_get(info, "expires")),
	       json_string_value(json_object_get(info, "issuer")),
	       json_string_value(json_object_get(info, "subject")));
	buf_release(&list);
}

/* certs:add <app> CRT KEY */
int cmd_certs_add(int argc, char **argv)
{
	struct buf crt = BUF_INIT, key = BUF_INIT, path = BUF_INIT;
	json_t *body = NULL, *reply = NULL;
	char *text = NULL;
	long status;
	int ret = -1;

	if (argc != 4)
		return err_set("usage: certs:add <app> CRT-FILE KEY-FILE");
	if (valid_app_name(argv[1]) < 0)
		return -1;
	if (fs_read_file(argv[2], &crt, CERT_FILE_MAX) < 0 ||
	    fs_read_file(argv[3], &key, CERT_FILE_MAX) < 0)
		goto out;
	if (!(body = json_pack("{s:s, s:s}", "cert", crt.buf, "key", key.buf)) ||
	    !(text = json_dumps(body, JSON_COMPACT)) ||
	    buf_addf(&path, "/apps/%s/cert", argv[1]) < 0) {
		err_set("invalid certificate or key file (not text?)");
		goto out;
	}
	say_step("Adding certificate to %s", argv[1]);
	if ((status = router_call("PUT", path.buf, text, &reply)) < 0)
		goto out;
	if (status != 200) {
		router_error(status, reply);
		goto out;
	}
	print_info(reply);
	ret = 0;
out:
	free(text);
	json_decref(body);
	json_decref(reply);
	buf_release(&crt);
	buf_release(&key);
	buf_release(&path);
	return ret;
}

/* certs:remove <app> */
int cmd_certs_remove(int argc, char **argv)
{
	struct buf path = BUF_INIT;
	json_t *reply = NULL;
	long status;
	int ret = -1;

	if (argc != 2)
		return err_set("usage: certs:remove <app>");
	if (valid_app_name(argv[1]) < 0 || buf_addf(&path, "/apps/%s/cert", argv[1]) < 0)
		goto out;
	if ((status = router_call("DELETE", path.buf, NULL, &reply)) < 0)
		goto out;
	if (status != 200) {
		router_error(status, reply);
		goto out;
	}
	say_step("Removed the certificate of %s", argv[1]);
	ret = 0;
out:
	json_decref(reply);
	buf_release(&path);
	return ret;
}

/* certs:report <app> */
int cmd_certs_report(int argc, char **argv)
{
	struct buf path = BUF_INIT;
	json_t *reply = NULL;
	long status;
	int ret = -1;

	if (argc != 2)
		return err_set("usage: certs:report <app>");
	if (valid_app_name(argv[1]) < 0 || buf_addf(&path, "/apps/%s/cert", argv[1]) < 0)
		goto out;
	if ((status = router_call("GET", path.buf, NULL, &reply)) < 0)
		goto out;
	printf("=====> %s ssl information\n", argv[1]);
	if (status == 404) {
		printf("       Ssl enabled:                 false\n");
		ret = 0;
		goto out;
	}
	if (status != 200) {
		router_error(status, reply);
		goto out;
	}
	print_info(reply);
	ret = 0;
out:
	json_decref(reply);
	buf_release(&path);
	return ret;
}
