// Staff admin pages: the region picker's filter and confirmations.
(function () {
  'use strict';
  function init(root) {
    Array.prototype.forEach.call(root.querySelectorAll('input[data-filter]'), function (inp) {
      if (inp._staff) return;
      inp._staff = true;
      var sel = document.getElementById(inp.getAttribute('data-filter'));
      if (!sel) return;
      inp.addEventListener('input', function () {
        var q = inp.value.trim().toLowerCase();
        Array.prototype.forEach.call(sel.options, function (o) {
          o.hidden = q !== '' && o.text.toLowerCase().indexOf(q) < 0 && o.value.indexOf(q) !== 0;
        });
      });
    });
    Array.prototype.forEach.call(root.querySelectorAll('form[data-confirm]'), function (f) {
      if (f._staff) return;
      f._staff = true;
      f.addEventListener('submit', function (e) {
        if (!window.confirm(f.getAttribute('data-confirm'))) {
          e.preventDefault();
          e.stopImmediatePropagation();
        }
      });
    });
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { init(document); });
  } else {
    init(document);
  }
  document.addEventListener('htmx:load', function (e) { init(e.target); });
})();
