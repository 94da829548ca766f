from django import template
from django.templatetags.static import static

from frontend.assets import built_assets

register = template.Library()


@register.inclusion_tag("frontend/assets.html")
def frontend_assets() -> dict:
    assets = built_assets()
    if assets is None:
        return {"missing": True}
    return {
        "scripts": [static(path) for path in assets.scripts],
        "styles": [static(path) for path in assets.styles],
    }
