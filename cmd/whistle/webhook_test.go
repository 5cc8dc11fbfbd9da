package main

import (
	"strings"
	"testing"
)

// TestWorkWebhookConfigChecked: a --work-webhook-url that is not an
// http(s) URL stops the server, naming the flag.
func TestWorkWebhookConfigChecked(t *testing.T) {
	for _, bad := range []string{"oapi.dingtalk.com/robot/send", "ftp://robot.example/send", "https://"} {
		t.Run(bad, func(t *testing.T) {
			args := append([]string{"whistle", "serve", "--addr", "127.0.0.1:0", "--log-level", "error"}, dataArgs(t, "sqlite")...)
			err := run(t.Context(), append(args, "--work-webhook-url", bad), func(string) string { return "" }, &syncBuffer{}, &syncBuffer{})
			if err == nil || !strings.Contains(err.Error(), "--work-webhook-url") {
				t.Errorf("run: got %v, want an error naming --work-webhook-url", err)
			}
		})
	}
}
