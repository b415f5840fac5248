// vireid course website: a click on a figure opens it full size (the browser's own image view zooms further).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".bd-article img").forEach((img) => {
    if (img.closest("a")) return;
    const link = document.createElement("a");
    link.href = img.getAttribute("src");
    link.className = "vireid-zoom";
    link.title = "open the figure full size";
    img.replaceWith(link);
    link.appendChild(img);
  });
});
