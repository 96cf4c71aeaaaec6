// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>

#include "cgfence/abi.h"
#include "jsonout.h"
#include "hook.h"

bool cgf_json;
bool cgf_json_pretty;

void cgf_json_emit(json_object *o)
{
	int flags = cgf_json_pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
				    : JSON_C_TO_STRING_PLAIN;

	puts(o ? json_object_to_json_string_ext(o, flags | JSON_C_TO_STRING_NOSLASHESCAPE)
	       : "null");
	fflush(stdout);
	json_object_put(o);
}

void cgf_report_error(const char *msg)
{
	fprintf(stderr, "cgfence: %s\n", msg);
	if (cgf_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "error", json_object_new_string(msg));
		cgf_json_emit(o);
	}
}

json_object *cgf_json_hooks(unsigned int hooks)
{
	json_object *a = json_object_new_array();

	for (int h = 0; h < CGF_H_MAX; h++)
		if (hooks & (1u << h))
			json_object_array_add(a, json_object_new_string(cgf_hook_names[h]));
	return a;
}
