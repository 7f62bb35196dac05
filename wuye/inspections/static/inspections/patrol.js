/* The guard's scan page: the camera (jsQR), an NFC tag (Web NFC, where the phone has it) and typing all end in
   submitCode(), which posts the code to the server; the server checks the signature, the window and the order. */
(function () {
  "use strict";
  var form = document.getElementById("scan-form");
  if (!form) {
    return;
  }
  var codeInput = form.querySelector("input[name=code]");
  var methodInput = form.querySelector("input[name=method]");
  var status = document.getElementById("camera-status");
  var video = document.getElementById("camera-video");
  var canvas = document.createElement("canvas");
  var stream = null;
  var sent = false;

  function say(text) {
    if (status) {
      status.textContent = text;
      status.hidden = !text;
    }
  }

  function submitCode(code, method) {
    if (sent) {
      return;
    }
    sent = true;
    codeInput.value = code;
    methodInput.value = method || "qr";
    if (form.requestSubmit) {
      form.requestSubmit();
    } else {
      form.submit();
    }
  }

  function stopCamera() {
    if (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
    }
    stream = null;
    if (video) {
      video.hidden = true;
    }
  }

  /* One camera frame: if it holds a QR code, send it. Returns whether one was found. */
  function scanFrame(imageData) {
    var found = window.jsQR(imageData.data, imageData.width, imageData.height, { inversionAttempts: "attemptBoth" });
    if (found && found.data) {
      stopCamera();
      submitCode(found.data, "qr");
      return true;
    }
    return false;
  }

  function tick() {
    if (!stream) {
      return;
    }
    if (video.readyState === video.HAVE_ENOUGH_DATA) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      var context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      if (scanFrame(context.getImageData(0, 0, canvas.width, canvas.height))) {
        return;
      }
    }
    window.requestAnimationFrame(tick);
  }

  codeInput.addEventListener("input", function () { methodInput.value = "manual"; });

  var cameraButton = document.getElementById("camera-start");
  if (cameraButton) {
    cameraButton.addEventListener("click", function () {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        say(cameraButton.dataset.unavailable);
        return;
      }
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (media) {
        stream = media;
        video.srcObject = media;
        video.hidden = false;
        say("");
        return video.play();
      }).then(function () {
        window.requestAnimationFrame(tick);
      }).catch(function () {
        stopCamera();
        say(cameraButton.dataset.unavailable);
      });
    });
  }

  var nfcButton = document.getElementById("nfc-start");
  if (nfcButton && "NDEFReader" in window) {
    nfcButton.hidden = false;
    nfcButton.addEventListener("click", function () {
      var reader = new window.NDEFReader();
      reader.scan().then(function () {
        say(nfcButton.dataset.waiting);
        reader.onreading = function (event) {
          event.message.records.forEach(function (record) {
            if (record.recordType === "text") {
              submitCode(new TextDecoder(record.encoding || "utf-8").decode(record.data), "nfc");
            }
          });
        };
      }).catch(function () { say(nfcButton.dataset.unavailable); });
    });
  }

  window.wuyePatrol = { submitCode: submitCode, scanFrame: scanFrame };
})();
