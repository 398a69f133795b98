// Small behaviours shared by every page. htmx does the requests; this adds upload progress, cancelling,
// drag and drop with a list of the chosen files, and lets htmx show our error fragments.
(function () {
  "use strict";

  // Our error answers carry a fragment meant for the page: form errors (422), already decided (409), too many
  // uploads lately (429), store down (503); the rest (400 expired form, 403, 404, 413 too large, 500) are
  // retargeted by the server to the page's message area. Let htmx swap them instead of dropping them.
  var SWAP_ON_ERROR = [400, 403, 404, 409, 413, 422, 429, 500, 503];
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (SWAP_ON_ERROR.indexOf(event.detail.xhr.status) !== -1) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // ---- confirm a decision ----------------------------------------------------------------------
  // Approve and reject ask first, like withdraw (hx-confirm). Their two buttons share one form, so the
  // question comes from the button that submitted it (data-confirm) rather than from the form.
  document.addEventListener("htmx:confirm", function (event) {
    var submitter = event.detail.triggeringEvent && event.detail.triggeringEvent.submitter;
    if (!submitter || !submitter.dataset.confirm) return;
    event.preventDefault();
    if (window.confirm(submitter.dataset.confirm)) event.detail.issueRequest(true);
  });

  // ---- a card opened on demand ---------------------------------------------------------------------
  // The week shows light request cards; "Review" swaps in the whole card (files, decision form). The focus
  // follows into it, so a keyboard or screen reader user carries on where the new content is.
  document.addEventListener("htmx:afterSettle", function (event) {
    var opener = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!opener || !opener.dataset || !opener.dataset.opens) return;
    var card = document.getElementById(opener.dataset.opens);
    var first = card && card.querySelector("a[href], button, textarea, input:not([type=hidden])");
    if (first) first.focus();
  });

  // ---- errors at their field ---------------------------------------------------------------------
  // A form answered with errors (422) puts each field's messages next to it ([data-errors-for=<field id>]);
  // mark those fields aria-invalid and move the focus to the first, as a whole page does with autofocus.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form.matches || !form.matches("form") || event.detail.xhr.status !== 422) return;
    var invalid = {};
    document.querySelectorAll("[data-errors-for]").forEach(function (box) {
      if (box.textContent.trim()) invalid[box.dataset.errorsFor] = true;
    });
    var first = null;
    Array.prototype.forEach.call(form.elements, function (control) {
      if (control.id && invalid[control.id]) {
        control.setAttribute("aria-invalid", "true");
        first = first || control;
      } else {
        control.removeAttribute("aria-invalid");
      }
    });
    if (first) first.focus();
  });

  // ---- check proof files before any byte is sent ------------------------------------------------
  // The size limit and the messages come from the template (data-max-bytes, data-too-big, data-wrong-type);
  // the type is the browser's guess from the name, so an empty one is left to the server, which decides.
  function fileProblems(input) {
    var max = Number(input.dataset.maxBytes) || Infinity;
    var allowed = (input.accept || "").split(",");
    var problems = [];
    Array.prototype.forEach.call(input.files || [], function (file) {
      if (file.size > max) problems.push(input.dataset.tooBig.replace("{name}", file.name));
      else if (file.type && allowed.indexOf(file.type) === -1) problems.push(input.dataset.wrongType.replace("{name}", file.name));
    });
    return problems;
  }

  function showFileProblems(input, problems) {
    var box = input.form && input.form.querySelector("[data-file-check]");
    if (problems.length) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    if (!box) return;
    box.textContent = problems.join(" ");
    box.hidden = !problems.length;
  }

  function checkForm(form) {
    var problems = [];
    form.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
      var found = fileProblems(input);
      showFileProblems(input, found);
      problems = problems.concat(found);
    });
    return problems.length === 0;
  }

  // Capture phase: runs before htmx's own submit handler on the form, so a refused file never starts a request.
  document.addEventListener("submit", function (event) {
    if (event.target.querySelector("input[type=file][data-max-bytes]") && !checkForm(event.target)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      var invalid = event.target.querySelector("[aria-invalid=true]");
      if (invalid) invalid.focus();
    }
  }, true);

  document.addEventListener("change", function (event) {
    if (event.target.matches("input[type=file][data-max-bytes]")) {
      showFileProblems(event.target, fileProblems(event.target));
    }
  });

  // ---- upload progress and cancel -------------------------------------------------------------
  function progressParts(form) {
    var status = form.querySelector("[data-upload-status]");
    return {
      box: status,
      bar: form.querySelector("progress"),
      percent: status && status.querySelector("[data-upload-percent]"),
      cancel: status && status.querySelector("[data-upload-cancel]"),
      note: form.querySelector("[data-upload-note]")
    };
  }

  document.addEventListener("htmx:xhr:loadstart", function (event) {
    var parts = progressParts(event.target);
    if (!parts.bar) return;
    if (parts.box) parts.box.hidden = false;
    if (parts.cancel) parts.cancel.hidden = false;
    if (parts.note) parts.note.hidden = true;
    parts.bar.hidden = false;
    parts.bar.value = 0;
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    var parts = progressParts(event.target);
    if (!parts.bar || !event.detail.lengthComputable) return;
    var value = Math.round((event.detail.loaded / event.detail.total) * 100);
    parts.bar.value = value;
    if (parts.percent) parts.percent.textContent = value + "%";
    // every byte has left: the server is deciding, and cancelling could no longer keep anything from it
    if (parts.cancel && value === 100) parts.cancel.hidden = true;
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var parts = progressParts(event.target);
    if (parts.box) parts.box.hidden = true;
    else if (parts.bar) parts.bar.hidden = true;
  });

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest("[data-upload-cancel]");
    if (!cancel) return;
    var form = cancel.closest("form");
    htmx.trigger(form, "htmx:abort");
    var parts = progressParts(form);
    if (parts.box) parts.box.hidden = true;
    if (parts.note) {
      parts.note.textContent = cancel.dataset.cancelled;
      parts.note.hidden = false;
    }
  });

  // A file input that uploads as soon as files are chosen (adding proofs to a pending request).
  document.addEventListener("change", function (event) {
    if (event.target.matches("input.auto-submit") && event.target.files.length) {
      event.target.form.requestSubmit();
    }
  });

  // ---- lightbox for photo proofs ----------------------------------------------------------------
  // A link marked data-lightbox opens in the page's <dialog> (Esc closes, Tab stays inside) instead of a new
  // tab; the image still comes through the link's audited /media/<id>/view URL. Arrows and swipes move
  // between the photos of the same request; a click on the photo zooms it to full size and back.
  var box = { items: [], index: 0, opener: null };

  function lightboxPart(name) { return document.querySelector("#lightbox [data-lightbox-" + name + "]"); }

  function showProof(index) {
    var count = box.items.length;
    box.index = (index + count) % count;
    var link = box.items[box.index];
    var image = lightboxPart("image");
    image.classList.remove("zoomed");
    image.src = link.href;
    image.alt = link.title;
    lightboxPart("caption").textContent = link.title + (count > 1 ? " · " + (box.index + 1) + "/" + count : "");
    var download = lightboxPart("download");
    download.hidden = !link.dataset.download;
    download.href = link.dataset.download || "#";
    lightboxPart("prev").hidden = lightboxPart("next").hidden = count < 2;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-lightbox]");
    var dialog = document.getElementById("lightbox");
    if (link && dialog && dialog.showModal && event.button === 0 && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      event.preventDefault();
      box.items = Array.prototype.slice.call((link.closest(".proofs") || document).querySelectorAll("a[data-lightbox]"));
      showProof(box.items.indexOf(link));
      box.opener = link;
      dialog.showModal();
      if (!dialog.dataset.bound) {
        dialog.dataset.bound = "1";
        // Esc, Close or the backdrop: the focus goes back to the thumbnail that opened it.
        dialog.addEventListener("close", function () { if (box.opener) box.opener.focus(); });
      }
      return;
    }
    if (!dialog || !dialog.open) return;
    if (event.target.closest("[data-lightbox-prev]")) showProof(box.index - 1);
    else if (event.target.closest("[data-lightbox-next]")) showProof(box.index + 1);
    else if (event.target.closest("[data-lightbox-close]")) dialog.close();
    else if (event.target.matches("[data-lightbox-image]")) event.target.classList.toggle("zoomed");
    else if (event.target === dialog) dialog.close();  // a click on the backdrop
  });

  document.addEventListener("keydown", function (event) {
    var dialog = document.getElementById("lightbox");
    if (!dialog || !dialog.open) return;
    if (event.key === "ArrowLeft") showProof(box.index - 1);
    else if (event.key === "ArrowRight") showProof(box.index + 1);
    else if (event.key === "Tab") keepFocusIn(dialog, event);
  });

  // A modal dialog lets Tab leave for the browser's own toolbar after its last control; wrap instead.
  function keepFocusIn(dialog, event) {
    var controls = Array.prototype.filter.call(dialog.querySelectorAll("a[href], button"), function (control) {
      return !control.hidden && !control.disabled;
    });
    if (!controls.length) return;
    var first = controls[0], last = controls[controls.length - 1];
    var outside = !dialog.contains(document.activeElement);
    if (event.shiftKey && (document.activeElement === first || outside)) { last.focus(); event.preventDefault(); }
    else if (!event.shiftKey && (document.activeElement === last || outside)) { first.focus(); event.preventDefault(); }
  }

  var swipeStart = null;
  document.addEventListener("pointerdown", function (event) {
    swipeStart = event.target.matches && event.target.matches("[data-lightbox-image]") ? event.clientX : null;
  });
  document.addEventListener("pointerup", function (event) {
    if (swipeStart === null) return;
    var moved = event.clientX - swipeStart;
    swipeStart = null;
    if (Math.abs(moved) > 60 && box.items.length > 1) showProof(box.index + (moved < 0 ? 1 : -1));
  });

  // ---- drag and drop, and the list of chosen files --------------------------------------------
  function setFiles(input, files) {
    var transfer = new DataTransfer();
    files.forEach(function (file) { transfer.items.add(file); });
    input.files = transfer.files;
    renderChosen(input);
  }

  function humanSize(bytes) {
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  function renderChosen(input) {
    var zone = input.closest("[data-dropzone]");
    var list = zone && zone.querySelector("[data-chosen-files]");
    if (!list) return;
    list.textContent = "";
    Array.prototype.forEach.call(input.files, function (file, index) {
      var item = document.createElement("li");
      item.textContent = file.name + " · " + humanSize(file.size) + " ";
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link";
      remove.textContent = "✕";
      remove.setAttribute("aria-label", (document.documentElement.lang === "ru" ? "Убрать " : "Remove ") + file.name);
      remove.addEventListener("click", function () {
        setFiles(input, Array.prototype.filter.call(input.files, function (_, i) { return i !== index; }));
      });
      item.appendChild(remove);
      list.appendChild(item);
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-dropzone] input[type=file]")) renderChosen(event.target);
  });

  ["dragenter", "dragover"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var zone = event.target.closest && event.target.closest("[data-dropzone]");
      if (!zone) return;
      event.preventDefault();
      zone.classList.add("dragging");
    });
  });
  document.addEventListener("dragleave", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (zone) zone.classList.remove("dragging");
  });
  document.addEventListener("drop", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("dragging");
    var input = zone.querySelector("input[type=file]");
    setFiles(input, Array.prototype.slice.call(input.files).concat(Array.prototype.slice.call(event.dataTransfer.files)));
  });
  // ---- direct upload: each file goes straight to the store, then the form names the slots ----------
  // With MEDIA_DIRECT_UPLOAD on, the proof input carries data-direct-upload (the slot URL). On submit each
  // chosen file gets a slot from the app, is posted to the store with its own progress bar and Cancel, and
  // the form is then sent with the finished slots' names instead of the files. Without JavaScript the
  // attribute does nothing and the files go through the app as before.
  var HEIC = /\.hei[cf]$/i;

  function declaredType(file) {
    if (file.type === "image/heif" || (!file.type && HEIC.test(file.name))) return "image/heic";
    return file.type || "application/octet-stream";
  }

  function progressList(form) {
    var list = form.querySelector("[data-direct-progress]");
    if (!list) {
      list = document.createElement("ul");
      list.className = "direct-uploads";
      list.setAttribute("data-direct-progress", "");
      list.setAttribute("aria-live", "polite");
      form.appendChild(list);
    }
    list.textContent = "";
    return list;
  }

  function fileRow(list, input, file) {
    var item = document.createElement("li");
    var name = document.createElement("span");
    name.textContent = file.name + " ";
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", file.name);
    var note = document.createElement("span");
    note.className = "muted small";
    note.textContent = " 0%";
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "link";
    cancel.textContent = input.dataset.cancelLabel;
    [name, bar, note, cancel].forEach(function (part) { item.appendChild(part); });
    list.appendChild(item);
    return { item: item, bar: bar, note: note, cancel: cancel };
  }

  function askSlot(input, form, file) {
    var body = new FormData();
    body.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
    body.append("content_type", declaredType(file));
    body.append("filename", file.name);
    if (input.dataset.cancellation) body.append("cancellation", input.dataset.cancellation);
    return fetch(input.dataset.directUpload, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (answer) {
          if (!response.ok) throw new Error(answer.error || response.statusText);
          return answer;
        });
      });
  }

  // The store could not be reached at all (no CORS rule for this origin, a proxy in the way): the page then
  // sends the files through the portal instead, so a setup mistake costs speed, never the upload.
  var UNREACHABLE = {};

  // Resolves with the slot's name once the store has the file, with null when it was cancelled or refused,
  // or with UNREACHABLE when the browser got no answer from the store.
  function sendOne(input, form, file, row) {
    var state = { cancelled: false, xhr: null };
    row.cancel.addEventListener("click", function () {
      state.cancelled = true;
      if (state.xhr) state.xhr.abort();
    });
    function stop(message) {
      row.note.textContent = " " + message;
      row.cancel.hidden = true;
      row.item.classList.add("not-sent");
      return null;
    }
    return askSlot(input, form, file).then(function (slot) {
      if (state.cancelled) return stop(input.dataset.cancelled);
      return new Promise(function (resolve) {
        var data = new FormData();
        Object.keys(slot.fields).forEach(function (name) { data.append(name, slot.fields[name]); });
        data.append("file", file);  // the store reads the fields before the file: it must come last
        var xhr = state.xhr = new XMLHttpRequest();
        xhr.open("POST", slot.url);
        xhr.upload.addEventListener("progress", function (event) {
          if (!event.lengthComputable) return;
          row.bar.value = Math.round((event.loaded / event.total) * 100);
          row.note.textContent = " " + row.bar.value + "%";
        });
        xhr.addEventListener("load", function () {
          if (xhr.status >= 200 && xhr.status < 300) {
            row.bar.value = 100;
            row.note.textContent = " 100%";
            row.cancel.hidden = true;
            resolve(slot.slot);
          } else {
            resolve(stop(input.dataset.failed));
          }
        });
        xhr.addEventListener("error", function () { resolve(UNREACHABLE); });
        xhr.addEventListener("abort", function () { resolve(stop(input.dataset.cancelled)); });
        xhr.send(data);
      });
    }, function (error) {
      return stop(state.cancelled ? input.dataset.cancelled : input.dataset.failed + ": " + error.message);
    });
  }

  function sendDirect(form, input) {
    var files = Array.prototype.slice.call(input.files);
    var list = progressList(form);
    var submit = form.querySelector("[type=submit]");
    if (submit) submit.disabled = true;
    Promise.all(files.map(function (file) { return sendOne(input, form, file, fileRow(list, input, file)); }))
      .then(function (slots) {
        if (submit) submit.disabled = false;
        if (slots.indexOf(UNREACHABLE) !== -1) {  // through the portal, as without JavaScript's help
          list.remove();
          form.dataset.directReady = "1";
          form.requestSubmit();
          return;
        }
        slots = slots.filter(Boolean);
        if (!slots.length) return;  // every file was cancelled or failed: nothing is sent
        slots.forEach(function (name) {
          var field = document.createElement("input");
          field.type = "hidden";
          field.name = "slots";
          field.value = name;
          field.setAttribute("data-direct-slot", "");
          form.appendChild(field);
        });
        input.disabled = true;  // a disabled input is not sent: the files are in the store already
        form.dataset.directReady = "1";
        form.requestSubmit();
      });
  }

  // After the form's answer the slot names go; the chosen files stay unless the request succeeded, so a form
  // sent back with errors can be sent again (with fresh slots).
  function resetDirect(form, succeeded) {
    if (!form.dataset || !form.dataset.directReady) return;
    delete form.dataset.directReady;
    form.querySelectorAll("[data-direct-slot]").forEach(function (field) { field.remove(); });
    var input = form.querySelector("input[type=file][data-direct-upload]");
    if (input) {
      input.disabled = false;
      if (succeeded) {
        input.value = "";
        renderChosen(input);
      }
    }
  }

  // Capture phase, after the size and type check above: a form with files to send directly stops here.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var input = form.querySelector("input[type=file][data-direct-upload]");
    if (!input || !input.files.length || form.dataset.directReady || event.defaultPrevented) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    sendDirect(form, input);
  }, true);

  document.addEventListener("htmx:afterRequest", function (event) {
    // not event.detail.successful: the handler above marks our 4xx answers as no error, so they are swapped
    var status = event.detail.xhr.status;
    resetDirect(event.detail.elt, status >= 200 && status < 300);  // 0: aborted by the form's Cancel
  });
  document.addEventListener("htmx:xhr:abort", function (event) { resetDirect(event.target, false); });
})();
