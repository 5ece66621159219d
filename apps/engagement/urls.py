"""Engagement pages under the SMART session handle: /t/<slug>/app/<handle>/e/…"""

from django.urls import path

from apps.engagement import views

app_name = "engagement"
P = "t/<slug:tenant_slug>/app/<str:handle>/e/"

urlpatterns = [
    path(P, views.home, name="home"),
    path(P + "summary", views.summary, name="summary"),
    path(P + "record", views.record, name="record"),
    path(P + "vitals/<slug:kind>", views.vitals, name="vitals"),
    path(P + "labs/", views.labs, name="labs"),
    path(P + "labs/<slug:key>", views.lab, name="lab"),
    path(P + "scores", views.scores, name="scores"),
    path(P + "cards/dismiss", views.dismiss, name="dismiss"),
    path(P + "questionnaires/", views.questionnaires, name="questionnaires"),
    path(P + "questionnaires/<slug:slug>", views.questionnaire, name="questionnaire"),
    path(P + "responses/<int:pk>", views.response_status, name="response"),
    path(P + "style.css", views.style_css, name="style"),
]
